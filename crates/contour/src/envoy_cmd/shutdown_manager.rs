//! `contour envoy shutdown-manager`: the sidecar of the Envoy Pod.
//!
//! `/healthz` answers `OK`. `/shutdown` (the Envoy container's preStop hook) answers only once
//! the ready file exists, i.e. once `contour envoy shutdown` (this container's preStop hook) has
//! drained Envoy, so Kubernetes does not stop Envoy while requests are in flight.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::routing::get;
use tracing::info;

const READY_POLL: Duration = Duration::from_secs(1);

pub fn router(ready_file: PathBuf) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "OK" }))
        .route(
            "/shutdown",
            get(move || {
                let file = ready_file.clone();
                async move {
                    info!(file = %file.display(), "waiting for the ready file before letting Envoy stop");
                    while !file.exists() {
                        tokio::time::sleep(READY_POLL).await;
                    }
                    info!("Envoy drained; shutdown can proceed");
                    "OK"
                }
            }),
        )
}

pub async fn run(port: u16, ready_file: PathBuf) -> anyhow::Result<()> {
    let addr = SocketAddr::from(([0, 0, 0, 0], port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the shutdown manager on {addr}"))?;
    info!(address = %addr, "started envoy shutdown-manager");
    axum::serve(listener, router(ready_file))
        .with_graceful_shutdown(crate::serve::shutdown_signal())
        .await
        .context("shutdown manager")
}
