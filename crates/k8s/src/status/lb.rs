//! Load-balancer addresses for Ingress and HTTPProxy status: a fixed list
//! (`--ingress-status-address`) or whatever the Envoy Service's `.status.loadBalancer` says
//! (`--envoy-service-namespace`/`--envoy-service-name`).

use std::net::IpAddr;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{LoadBalancerIngress, LoadBalancerStatus, Service};
use k8s_openapi::api::networking::v1::{IngressLoadBalancerIngress, IngressLoadBalancerStatus};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

/// Where the addresses come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LbSource {
    /// A comma separated list of IPs and host names.
    Static(String),
    /// The Envoy Service's status.
    Service { namespace: String, name: String },
}

/// A comma separated address list as a load-balancer status (IPs as `ip`, others as
/// `hostname`); `None` when the list is empty.
pub fn parse_addresses(list: &str) -> Option<LoadBalancerStatus> {
    let ingress: Vec<LoadBalancerIngress> = list
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| {
            if a.parse::<IpAddr>().is_ok() {
                LoadBalancerIngress {
                    ip: Some(a.to_string()),
                    ..Default::default()
                }
            } else {
                LoadBalancerIngress {
                    hostname: Some(a.to_string()),
                    ..Default::default()
                }
            }
        })
        .collect();
    (!ingress.is_empty()).then_some(LoadBalancerStatus {
        ingress: Some(ingress),
    })
}

/// The same addresses in the Ingress status shape.
pub fn ingress_status(lb: &LoadBalancerStatus) -> IngressLoadBalancerStatus {
    IngressLoadBalancerStatus {
        ingress: lb.ingress.as_ref().map(|list| {
            list.iter()
                .map(|i| IngressLoadBalancerIngress {
                    ip: i.ip.clone(),
                    hostname: i.hostname.clone(),
                    ports: None,
                })
                .collect()
        }),
    }
}

/// Starts following `source`; the receiver holds the current addresses.
pub fn start(
    client: Client,
    source: LbSource,
) -> (watch::Receiver<Option<LoadBalancerStatus>>, JoinHandle<()>) {
    match source {
        LbSource::Static(list) => {
            let (tx, rx) = watch::channel(parse_addresses(&list));
            // Keep the sender alive so receivers never see the channel closed.
            let task = tokio::spawn(async move { tx.closed().await });
            (rx, task)
        }
        LbSource::Service { namespace, name } => {
            let (tx, rx) = watch::channel(None);
            let api: Api<Service> = Api::namespaced(client, &namespace);
            let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
            let task = tokio::spawn(follow_service(api, config, tx, namespace, name));
            (rx, task)
        }
    }
}

async fn follow_service(
    api: Api<Service>,
    config: watcher::Config,
    tx: watch::Sender<Option<LoadBalancerStatus>>,
    namespace: String,
    name: String,
) {
    info!(
        namespace,
        name, "following the Envoy Service for load-balancer status"
    );
    let stream = watcher::watcher(api, config).default_backoff();
    futures::pin_mut!(stream);
    while let Some(item) = stream.next().await {
        let lb = match item {
            Ok(Event::Apply(svc) | Event::InitApply(svc)) => svc
                .status
                .and_then(|s| s.load_balancer)
                .filter(|lb| lb.ingress.as_ref().is_some_and(|i| !i.is_empty())),
            Ok(Event::Delete(_)) => None,
            Ok(Event::Init | Event::InitDone) => continue,
            Err(e) => {
                warn!(namespace, name, error = %e, "watching the Envoy Service failed; retrying");
                continue;
            }
        };
        tx.send_if_modified(|cur| {
            let changed = *cur != lb;
            *cur = lb;
            changed
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_split_into_ips_and_hostnames() {
        let lb = parse_addresses("192.0.2.1, lb.example.com,2001:db8::1,").unwrap();
        let got: Vec<(Option<String>, Option<String>)> = lb
            .ingress
            .unwrap()
            .into_iter()
            .map(|i| (i.ip, i.hostname))
            .collect();
        assert_eq!(
            got,
            vec![
                (Some("192.0.2.1".into()), None),
                (None, Some("lb.example.com".into())),
                (Some("2001:db8::1".into()), None),
            ]
        );
        assert!(parse_addresses(" , ").is_none());
    }
}
