//! `contour serve`: wires the source, the event loop, the xDS server and the HTTP endpoints.

mod dag_dot;
mod eds;
mod event_loop;
mod holdoff;
mod http;
mod https;
mod kubernetes;
mod secrets;
mod state;
mod xds_debug;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, bail};
use contour_dag::{Cache, ClassFilter};
use contour_xds::SnapshotStore;
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use crate::cli::ServeArgs;
use crate::manifests::ManifestSource;
use crate::metrics::Metrics;
use crate::settings;

/// Flags accepted for compatibility whose feature lands with a later issue: never silent.
fn warn_unimplemented(args: &ServeArgs) {
    let pending: [(&str, bool); 1] = [("--kubernetes-debug", args.kubernetes_debug.is_some())];
    for (flag, set) in pending {
        if set {
            warn!(
                flag,
                "flag accepted but not implemented yet; it has no effect"
            );
        }
    }
    if args.manifests.is_some() && (args.kubeconfig.is_some() || args.incluster) {
        warn!("--kubeconfig/--incluster have no effect with --manifests");
    }
    if args.manifests.is_some()
        && (args.watch_namespaces.is_some()
            || args.ingress_status_address.is_some()
            || !args.disable_feature.is_empty())
    {
        warn!(
            "--watch-namespaces/--ingress-status-address/--disable-feature have no effect with --manifests"
        );
    }
    if args.manifests.is_some() && !args.disable_leader_election {
        info!("leader election does not apply to --manifests: this instance is the only writer");
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    // Every configuration error ends the process here, before anything listens.
    let from_api = settings::fetch_contour_configuration(&args).await?;
    let settings = settings::resolve_with(&args, from_api)?;
    let xds_tls = xds_tls_files(&args, &settings)?;
    warn_unimplemented(&args);
    let (xds_addr, metrics_addr, health_addr, debug_addr) = (
        settings.xds,
        settings.metrics,
        settings.health,
        settings.debug,
    );
    settings
        .build
        .http_address
        .parse::<std::net::IpAddr>()
        .context("envoy http address is not an IP address")?;
    let build_cfg = settings.build.clone();
    let translate_cfg = settings.translate.clone();
    let mut cache = Cache::new(ClassFilter::new(settings.ingress_class_names.clone()));
    // Serving certificates are kept in their served form: held once, not once per form.
    cache.secret_encoder = Some(contour_envoy::secret::encode_tls_secret);
    cache.config_secrets = build_cfg
        .fallback_certificate
        .iter()
        .chain(build_cfg.envoy_client_certificate.iter())
        .cloned()
        .collect();

    let mut metrics = Metrics::new();
    let state = Arc::new(state::SharedState::new(started));
    if let Some(source) = &settings.contour_configuration {
        state.set_contour_configuration(&source.namespace, &source.name);
    }
    let config_status = settings.contour_configuration.clone();
    let store = SnapshotStore::new();
    let (tx, rx) = mpsc::channel(1024);
    let client = contour_k8s::ClientOptions {
        kubeconfig: settings.kubeconfig.clone(),
        incluster: settings.incluster,
        qps: settings.client_qps,
        burst: settings.client_burst,
    };
    let source = start_source(&args, client, &mut metrics, tx).await?;
    let grpc_metrics = contour_xds::GrpcMetrics::new();
    grpc_metrics.register(&mut metrics.registry);
    let metrics = Arc::new(metrics);
    let health_client = match &source {
        Source::Kubernetes(k, _) => Some(k.client.clone()),
        Source::Manifests(_) => None,
    };
    let debug = http::DebugContext {
        state: state.clone(),
        xds: xds_debug::XdsDebug::spawn(&store, started),
        store: store.clone(),
    };
    spawn_http(
        metrics.clone(),
        debug,
        health_client,
        [metrics_addr, health_addr, debug_addr],
        settings.metrics_tls.clone(),
    )
    .await?;

    let (first_tx, first_rx) = watch::channel(false);
    let mut event_loop = event_loop::EventLoop::new(
        cache,
        build_cfg,
        translate_cfg,
        store.clone(),
        state,
        metrics.clone(),
        first_tx,
    );
    let mut fetched = None;
    let (kube, _manifests) = match source {
        Source::Kubernetes(mut k, status_tx) => {
            event_loop = event_loop.with_status(status_tx);
            if let Some(c) = &config_status {
                event_loop =
                    event_loop.with_contour_configuration(&c.namespace, &c.name, c.generation);
            }
            if let Some(reads) = k.secret_reads.take() {
                event_loop = event_loop.with_withholding(reads.requests);
                fetched = Some(reads.answers);
            }
            (Some(k), None)
        }
        // The handle keeps the directory watched for as long as we serve.
        Source::Manifests(handle) => (None, Some(handle)),
    };
    let loop_task = tokio::spawn(event_loop.run(rx, fetched));
    count_nacks(&store, metrics);
    let xds_config = contour_xds::ServerConfig {
        tls: xds_tls,
        metrics: Some(grpc_metrics),
        ..Default::default()
    };
    let xds_task = tokio::spawn(serve_xds(store, xds_addr, xds_config, first_rx));
    let result = tokio::select! {
        r = xds_task => r.context("xDS server task").and_then(|r| r),
        r = loop_task => r.context("event loop task"),
        _ = shutdown_signal() => {
            info!("shutting down");
            Ok(())
        }
    };
    if let Some(k) = kube {
        k.shutdown().await;
    }
    result
}

/// Where objects come from.
enum Source {
    Manifests(crate::manifests::ManifestSourceHandle),
    Kubernetes(
        kubernetes::Kubernetes,
        watch::Sender<Arc<contour_k8s::status::StatusInput>>,
    ),
}

async fn start_source(
    args: &ServeArgs,
    client: contour_k8s::ClientOptions,
    metrics: &mut Metrics,
    tx: mpsc::Sender<contour_dag::SourceEvent>,
) -> anyhow::Result<Source> {
    match &args.manifests {
        Some(dir) => {
            let handle = ManifestSource::start(dir.clone(), tx)
                .with_context(|| format!("reading manifests from {}", dir.display()))?;
            info!(dir = %dir.display(), "reading manifests");
            Ok(Source::Manifests(handle))
        }
        None => {
            let (k, status_tx) = kubernetes::start(args, client, metrics, tx).await?;
            Ok(Source::Kubernetes(k, status_tx))
        }
    }
}

/// Metrics and health (one server when they share an address, over HTTPS with
/// `metrics.contour` TLS), and the debug server.
async fn spawn_http(
    metrics: Arc<Metrics>,
    debug: http::DebugContext,
    client: Option<kube::Client>,
    [metrics_addr, health_addr, debug_addr]: [SocketAddr; 3],
    metrics_tls: Option<settings::MetricsTls>,
) -> anyhow::Result<()> {
    let serve_metrics = |router, what| async move {
        match metrics_tls {
            Some(tls) => https::spawn(metrics_addr, router, tls, what).await,
            None => http::spawn(metrics_addr, router, what).await,
        }
    };
    if metrics_addr == health_addr {
        let router = http::metrics_router(metrics).merge(http::health_router(client));
        serve_metrics(router, "metrics and health").await?;
    } else {
        serve_metrics(http::metrics_router(metrics), "metrics").await?;
        http::spawn(health_addr, http::health_router(client), "health").await?;
    }
    http::spawn(debug_addr, http::debug_router(debug), "debug").await
}

/// Starts listening for xDS only once the first build is published, as upstream does: an Envoy
/// never sees a partial configuration, and a readiness probe on the xDS port means "ready".
async fn serve_xds(
    store: SnapshotStore,
    addr: SocketAddr,
    config: contour_xds::ServerConfig,
    mut first_build: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    first_build
        .wait_for(|built| *built)
        .await
        .context("event loop ended before the first build")?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the xDS server on {addr}"))?;
    info!(address = %addr, insecure = config.tls.is_none(), "started xDS server");
    contour_xds::serve_with_config(store, listener, config, std::future::pending()).await?;
    Ok(())
}

/// Upstream's defaults when no TLS flag is given (the files of the example deployment).
const DEFAULT_XDS_TLS: [&str; 3] = ["/certs/ca.crt", "/certs/tls.crt", "/certs/tls.key"];

/// The xDS server's mTLS files, or `None` with `--insecure`. All three flags or none (then
/// upstream's `/certs/...` defaults); the files are loaded once here so that a missing or bad
/// file stops startup with a clear message.
fn xds_tls_files(
    args: &ServeArgs,
    settings: &settings::Settings,
) -> anyhow::Result<Option<contour_xds::TlsFiles>> {
    if settings.insecure {
        return Ok(None);
    }
    let given = |p: &Option<std::path::PathBuf>| p.clone().filter(|p| !p.as_os_str().is_empty());
    // With --contour-config-name the files come from `xdsServer.tls`, as upstream.
    let from_crd = settings.contour_configuration.as_ref().map(|_| {
        let tls = settings
            .spec
            .xds_server
            .as_ref()
            .and_then(|x| x.tls.clone())
            .unwrap_or_default();
        let path = |s: &str| Some(std::path::PathBuf::from(s)).filter(|_| !s.is_empty());
        (
            path(&tls.ca_file),
            path(&tls.cert_file),
            path(&tls.key_file),
        )
    });
    let (ca, cert, key) = from_crd.unwrap_or_else(|| {
        (
            given(&args.contour_cafile),
            given(&args.contour_cert_file),
            given(&args.contour_key_file),
        )
    });
    let files = match (ca, cert, key) {
        (Some(ca_file), Some(cert_file), Some(key_file)) => contour_xds::TlsFiles {
            ca_file,
            cert_file,
            key_file,
        },
        (None, None, None) => contour_xds::TlsFiles {
            ca_file: DEFAULT_XDS_TLS[0].into(),
            cert_file: DEFAULT_XDS_TLS[1].into(),
            key_file: DEFAULT_XDS_TLS[2].into(),
        },
        _ => bail!(
            "you must supply all TLS parameters - \"--contour-cafile\", \"--contour-cert-file\", \"--contour-key-file\", or none of them"
        ),
    };
    contour_xds::load_server_config(&files).with_context(|| {
        "xDS TLS is required unless --insecure is given; \
         set --contour-cafile/--contour-cert-file/--contour-key-file (see `contour certgen`)"
    })?;
    Ok(Some(files))
}

/// Counts Envoy's rejections by type (the xDS server logs each one as "Envoy rejected").
/// Synchronously, so that no rejection is missed in a burst of events.
fn count_nacks(store: &SnapshotStore, metrics: Arc<Metrics>) {
    store.on_event(Arc::new(move |ev| {
        if let contour_xds::XdsEvent::Nack { type_url, .. } = ev {
            let label = crate::metrics::TypeLabel {
                type_url: type_url.clone(),
            };
            metrics.xds_nack_total.get_or_create(&label).inc();
        }
    }));
}

pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = ctrl_c.await;
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
}
