//! Contour's own HTTP endpoints: metrics and health, and the debug server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use contour_xds::SnapshotStore;

use super::state::SharedState;
use super::xds_debug::XdsDebug;
use crate::metrics::Metrics;

pub fn metrics_router(metrics: Arc<Metrics>) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let m = metrics.clone();
            async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    m.encode(),
                )
            }
        }),
    )
}

/// `/health` and `/healthz`. In manifests mode there is no API server to check; in Kubernetes
/// mode the API server must answer (as upstream: 200 `OK`, or 503 `Failed Kubernetes Check`).
pub fn health_router(client: Option<kube::Client>) -> Router {
    let check = move || {
        let client = client.clone();
        async move {
            let Some(client) = client else {
                return (StatusCode::OK, "OK".to_string());
            };
            match contour_k8s::check(&client, Duration::from_secs(5)).await {
                Ok(()) => (StatusCode::OK, "OK".to_string()),
                Err(e) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("Failed Kubernetes Check: {e}"),
                ),
            }
        }
    };
    Router::new()
        .route("/health", get(check.clone()))
        .route("/healthz", get(check))
}

/// What the debug endpoints read.
#[derive(Clone)]
pub struct DebugContext {
    pub state: Arc<SharedState>,
    pub xds: Arc<XdsDebug>,
    pub store: SnapshotStore,
}

pub fn debug_router(ctx: DebugContext) -> Router {
    let status_state = ctx.state.clone();
    let dag_state = ctx.state.clone();
    Router::new()
        .route(
            "/debug/dag",
            get(move || {
                let s = dag_state.clone();
                async move {
                    let content_type = [(header::CONTENT_TYPE, "text/vnd.graphviz; charset=utf-8")];
                    (content_type, s.dag_dot()).into_response()
                }
            }),
        )
        .route(
            "/debug/status",
            get(move || {
                let s = status_state.clone();
                async move { axum::Json(s.status_json()).into_response() }
            }),
        )
        .route(
            "/debug/xds",
            get(move || {
                let c = ctx.clone();
                async move {
                    let extra = serde_json::json!({
                        "first_build_ms": c.state.first_build_ms(),
                        "build_ms": c.state.build_ms(),
                    });
                    let body = c.xds.render(&c.store, &extra);
                    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
                }
            }),
        )
}

/// Binds `addr` and serves `router` in the background.
pub async fn spawn(addr: SocketAddr, router: Router, what: &'static str) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the {what} server on {addr}"))?;
    tracing::info!(address = %addr, "started {what} server");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "{what} server stopped");
        }
    });
    Ok(())
}
