//! The Kubernetes client: from `--kubeconfig`, in-cluster configuration (`--incluster`), or
//! kube-rs's usual inference (`$KUBECONFIG`, `~/.kube/config`, then in-cluster).

use std::path::PathBuf;
use std::time::Duration;

use kube::client::ClientBuilder;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::Error;

/// How to reach the API server.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    pub kubeconfig: Option<PathBuf>,
    pub incluster: bool,
    /// Requests per second after the burst (`--kubernetes-client-qps`); no limit when unset.
    pub qps: Option<f32>,
    /// Requests allowed at once (`--kubernetes-client-burst`, with a QPS only; default 10, as
    /// client-go).
    pub burst: Option<u32>,
}

/// client-go's burst when only a QPS is given.
const DEFAULT_BURST: u32 = 10;

/// Builds a client. Nothing is contacted yet.
pub async fn client(opts: &ClientOptions) -> Result<Client, Error> {
    let mut config = if opts.incluster {
        Config::incluster().map_err(|e| Error::Config(e.to_string()))?
    } else if let Some(path) = &opts.kubeconfig {
        let kc = Kubeconfig::read_from(path)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?
    } else {
        Config::infer()
            .await
            .map_err(|e| Error::Config(e.to_string()))?
    };
    // Fail a dead connection attempt quickly: the watchers retry with backoff anyway.
    config.connect_timeout = Some(Duration::from_secs(5));
    let builder = ClientBuilder::try_from(config).map_err(Error::Client)?;
    match opts.qps.filter(|q| *q > 0.0) {
        Some(qps) => {
            let burst = opts.burst.filter(|b| *b > 0).unwrap_or(DEFAULT_BURST);
            tracing::info!(qps, burst, "Kubernetes client rate limited");
            let layer = crate::ratelimit::RateLimitLayer::new(qps, burst);
            Ok(builder.with_layer(&layer).build())
        }
        None => Ok(builder.build()),
    }
}

/// Asks the API server for its version: the `/healthz` check of Kubernetes mode.
pub async fn check(client: &Client, timeout: Duration) -> Result<(), Error> {
    match tokio::time::timeout(timeout, client.apiserver_version()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(Error::Client(e)),
        Err(_) => Err(Error::Timeout(timeout)),
    }
}
