//! The Kubernetes client: from `--kubeconfig`, in-cluster configuration (`--incluster`), or
//! kube-rs's usual inference (`$KUBECONFIG`, `~/.kube/config`, then in-cluster).

use std::path::PathBuf;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::Error;

/// How to reach the API server.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    pub kubeconfig: Option<PathBuf>,
    pub incluster: bool,
}

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
    Client::try_from(config).map_err(Error::Client)
}

/// Asks the API server for its version: the `/healthz` check of Kubernetes mode.
pub async fn check(client: &Client, timeout: Duration) -> Result<(), Error> {
    match tokio::time::timeout(timeout, client.apiserver_version()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(Error::Client(e)),
        Err(_) => Err(Error::Timeout(timeout)),
    }
}
