//! Kubernetes mode: the kube-rs watchers feed the event loop; leader election gates the status
//! writer and the load-balancer status; xDS is served by every replica whatever happens to the
//! API server.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use contour_dag::{Kind, SourceEvent};
use contour_k8s::leader::{self, LeaderConfig, LeaderHandle};
use contour_k8s::source::fetch::{self, Fetched, SecretKey};
use contour_k8s::source::{self, SourceHandle, SourceOptions};
use contour_k8s::status::lb::{self, LbSource};
use contour_k8s::status::{StatusInput, StatusMetrics, StatusWriter};
use contour_k8s::{ClientOptions, client};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::info;

use crate::cli::{Feature, ServeArgs, comma_list, parse_duration};
use crate::metrics::Metrics;

/// The running Kubernetes side of `contour serve`.
pub struct Kubernetes {
    pub client: kube::Client,
    _source: SourceHandle,
    leader: Option<LeaderHandle>,
    /// With `--disable-leader-election` this replica always leads; the sender stays here.
    _always_leader: Option<watch::Sender<bool>>,
    tasks: Vec<JoinHandle<()>>,
    /// Reads of newly referenced Secrets, for the event loop (taken once).
    pub secret_reads: Option<SecretReads>,
}

/// The event loop's side of the Secret fetcher.
pub struct SecretReads {
    pub requests: mpsc::UnboundedSender<SecretKey>,
    pub answers: mpsc::Receiver<Fetched>,
}

fn leader_config(args: &ServeArgs) -> anyhow::Result<LeaderConfig> {
    Ok(LeaderConfig {
        namespace: args.leader_election_resource_namespace.clone(),
        name: args.leader_election_resource_name.clone(),
        identity: leader::default_identity(),
        lease_duration: parse_duration(&args.leader_election_lease_duration)
            .context("--leader-election-lease-duration")?,
        renew_deadline: parse_duration(&args.leader_election_renew_deadline)
            .context("--leader-election-renew-deadline")?,
        retry_period: parse_duration(&args.leader_election_retry_period)
            .context("--leader-election-retry-period")?,
    })
}

fn source_options(args: &ServeArgs) -> SourceOptions {
    let mut disabled = std::collections::BTreeSet::new();
    if args.disable_feature.contains(&Feature::Extensionservices) {
        disabled.insert(Kind::ExtensionService);
    }
    SourceOptions {
        watch_namespaces: comma_list(args.watch_namespaces.as_deref()),
        disabled,
    }
}

/// Connects to the API server and starts the watchers (sending to `tx`), leader election, the
/// load-balancer status source and the status writer. Returns the sender the event loop
/// publishes statuses on.
pub async fn start(
    args: &ServeArgs,
    opts: ClientOptions,
    metrics: &mut Metrics,
    tx: mpsc::Sender<SourceEvent>,
) -> anyhow::Result<(Kubernetes, watch::Sender<Arc<StatusInput>>)> {
    let client = client(&opts)
        .await
        .context("creating the Kubernetes client")?;
    let leader_cfg = if args.disable_leader_election {
        None
    } else {
        Some(leader_config(args)?)
    };
    let source = source::start(client.clone(), &source_options(args), tx);
    let fetcher = fetch::spawn(client.clone());
    let (leader_rx, leader, always) = match leader_cfg {
        Some(cfg) => {
            let (rx, handle) = leader::start(client.clone(), cfg);
            (rx, Some(handle), None)
        }
        None => {
            info!("leader election disabled: this replica writes status");
            let (tx, rx) = watch::channel(true);
            (rx, None, Some(tx))
        }
    };
    let lb_source = match &args.ingress_status_address {
        Some(list) => LbSource::Static(list.clone()),
        None => LbSource::Service {
            namespace: args.envoy_service_namespace.clone(),
            name: args.envoy_service_name.clone(),
        },
    };
    let (lb_rx, lb_task) = lb::start(client.clone(), lb_source);
    let status_metrics = StatusMetrics::default();
    status_metrics.register(&mut metrics.registry);
    let (status_tx, status_rx) = watch::channel(Arc::new(StatusInput::default()));
    let writer = StatusWriter {
        client: client.clone(),
        metrics: status_metrics,
        leader: leader_rx,
        input: status_rx,
        lb: lb_rx,
    }
    .spawn();
    let k = Kubernetes {
        client,
        _source: source,
        leader,
        _always_leader: always,
        tasks: vec![lb_task, writer, fetcher.task],
        secret_reads: Some(SecretReads {
            requests: fetcher.requests,
            answers: fetcher.answers,
        }),
    };
    Ok((k, status_tx))
}

impl Kubernetes {
    /// Stops writing and releases the leader lease, so another replica takes over at once.
    pub async fn shutdown(self) {
        for t in &self.tasks {
            t.abort();
        }
        if let Some(l) = self.leader {
            let _ = tokio::time::timeout(Duration::from_secs(5), l.release()).await;
        }
    }
}
