//! The status writer: only the leader writes, and only what changed.
//!
//! The event loop publishes each build's statuses on a `watch` channel (a bounded queue of
//! one: a newer build replaces an unprocessed older one, and a slow or unreachable API server
//! never blocks the build). HTTPProxy statuses travel as the build computed them and are put in
//! upstream's shape only for the objects written: at 10,000 proxies, converting every status on
//! every build cost as much CPU as the build. The writer remembers what it last wrote per object
//! and writes only objects whose computed status differs; each write reads the object, merges
//! by upstream's rules ([`merge`]), counts a no-op when the result equals what is stored, and
//! retries on a conflict. Failed writes are retried with backoff. Losing leadership forgets
//! what was written, so a new leader re-sends every status.

pub mod conditions;
pub mod lb;
pub mod merge;
mod metrics;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use contour_api::v1::{DetailedCondition, HTTPProxy, HTTPProxyStatus};
use contour_dag::{ProxyKey, ProxyStatus, ProxyStatuses};
use k8s_openapi::api::core::v1::LoadBalancerStatus;
use k8s_openapi::api::networking::v1::{Ingress, IngressLoadBalancerStatus, IngressStatus};
use kube::api::PostParams;
use kube::{Api, Client};
use tokio::sync::watch;
use tracing::{debug, info, warn};

pub use conditions::ConditionsKind;
pub use metrics::StatusMetrics;

/// What one build wants written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusInput {
    /// HTTPProxy statuses as the build computed them, by `(namespace, name)`.
    pub proxies: ProxyStatuses,
    /// Ingresses Contour serves (class matches): they get load-balancer addresses.
    pub ingresses: BTreeSet<(String, String)>,
    /// Conditions of ContourConfigurations and ExtensionServices, by kind, namespace, name.
    pub conditions: BTreeMap<(ConditionsKind, String, String), Vec<DetailedCondition>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Desired {
    Proxy(HTTPProxyStatus),
    Ingress(IngressLoadBalancerStatus),
    Conditions(ConditionsKind, Vec<DetailedCondition>),
}

type Key = (&'static str, String, String);

/// The load-balancer addresses of one pass, shared by the proxy statuses written in it.
type Lb = Arc<Option<LoadBalancerStatus>>;

/// What was last written for each HTTPProxy: the build's status and the addresses beside it.
type WrittenProxies = foldhash::HashMap<ProxyKey, (ProxyStatus, Lb)>;

/// What the writer last wrote, per object.
#[derive(Default)]
struct Written {
    proxies: WrittenProxies,
    /// The addresses each Ingress was given.
    ingresses: foldhash::HashMap<(String, String), Lb>,
    /// ContourConfiguration and ExtensionService conditions.
    others: BTreeMap<Key, Desired>,
}

impl Written {
    fn clear(&mut self) {
        *self = Written::default();
    }

    /// Forgets objects that are no longer wanted.
    fn retain(&mut self, input: &StatusInput, others: &BTreeMap<Key, Desired>) {
        self.proxies.retain(|k, _| input.proxies.contains_key(k));
        self.ingresses.retain(|k, _| input.ingresses.contains(k));
        self.others.retain(|k, _| others.contains_key(k));
    }
}

/// How a write ended.
pub(crate) enum Outcome {
    Written,
    Noop,
    /// The object is gone; nothing to write.
    Gone,
}

const MAX_ATTEMPTS: u32 = 5;
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

pub struct StatusWriter {
    pub client: Client,
    pub metrics: StatusMetrics,
    pub leader: watch::Receiver<bool>,
    pub input: watch::Receiver<Arc<StatusInput>>,
    pub lb: watch::Receiver<Option<LoadBalancerStatus>>,
}

impl StatusWriter {
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run())
    }

    async fn run(mut self) {
        info!("started status update handler");
        let mut written = Written::default();
        let mut retry: Option<Instant> = None;
        let mut backoff = Duration::from_millis(500);
        loop {
            let wait = retry.map(|r| tokio::time::sleep_until(r.into()));
            tokio::select! {
                r = self.input.changed() => if r.is_err() { return },
                r = self.leader.changed() => {
                    if r.is_err() { return }
                    // A new term (even one whose loss we never saw): re-send everything.
                    written.clear();
                }
                r = self.lb.changed() => if r.is_err() { return },
                _ = async { if let Some(w) = wait { w.await } }, if retry.is_some() => {}
            }
            if !*self.leader.borrow() {
                written.clear();
                retry = None;
                continue;
            }
            let input = self.input.borrow().clone();
            let lb: Lb = Arc::new(self.lb.borrow().clone());
            let others = Self::conditions(&input);
            written.retain(&input, &others);
            let failed = self
                .write_proxies(&input.proxies, &lb, &mut written.proxies)
                .await
                + self
                    .write_ingresses(&input.ingresses, &lb, &mut written.ingresses)
                    .await
                + self.write_all(&others, &mut written.others).await;
            if failed == 0 {
                retry = None;
                backoff = Duration::from_millis(500);
            } else {
                retry = Some(Instant::now() + backoff);
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }

    /// The conditions wanted for ContourConfigurations and ExtensionServices.
    fn conditions(input: &StatusInput) -> BTreeMap<Key, Desired> {
        let mut out = BTreeMap::new();
        for ((kind, ns, name), conds) in &input.conditions {
            let want = Desired::Conditions(*kind, conds.clone());
            out.insert((kind.as_str(), ns.clone(), name.clone()), want);
        }
        out
    }

    /// Gives each served Ingress the addresses, when they are known, unless it already got
    /// these; returns the number of failed writes. Unknown addresses write nothing and forget
    /// what was written, so that known ones are written again.
    async fn write_ingresses(
        &self,
        ingresses: &BTreeSet<(String, String)>,
        lb: &Lb,
        written: &mut foldhash::HashMap<(String, String), Lb>,
    ) -> usize {
        let Some(addresses) = lb.as_ref() else {
            written.clear();
            return 0;
        };
        let want = Desired::Ingress(lb::ingress_status(addresses));
        let mut failed = 0;
        for key in ingresses {
            if written.get(key).is_some_and(|was| same_lb(was, lb)) {
                continue;
            }
            if !*self.leader.borrow() {
                break;
            }
            if self.write("Ingress", &key.0, &key.1, &want).await {
                written.insert(key.clone(), lb.clone());
            } else {
                failed += 1;
            }
        }
        failed
    }

    /// Writes the HTTPProxy statuses that differ from `written`, in key order, converting only
    /// those; returns the number of failed writes.
    async fn write_proxies(
        &self,
        proxies: &ProxyStatuses,
        lb: &Lb,
        written: &mut WrittenProxies,
    ) -> usize {
        let mut todo: Vec<(&ProxyKey, &ProxyStatus)> = proxies
            .iter()
            .filter(|(k, st)| {
                written
                    .get(*k)
                    .is_none_or(|(was, was_lb)| was != *st || !same_lb(was_lb, lb))
            })
            .collect();
        todo.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut failed = 0;
        for ((ns, name), st) in todo {
            if !*self.leader.borrow() {
                break;
            }
            let mut want = st.to_api();
            want.load_balancer.clone_from(lb.as_ref());
            if self
                .write("HTTPProxy", ns, name, &Desired::Proxy(want))
                .await
            {
                written.insert((ns.clone(), name.clone()), (st.clone(), lb.clone()));
            } else {
                failed += 1;
            }
        }
        failed
    }

    /// Writes what differs from `written`; returns the number of failed writes.
    async fn write_all(
        &self,
        desired: &BTreeMap<Key, Desired>,
        written: &mut BTreeMap<Key, Desired>,
    ) -> usize {
        let mut failed = 0;
        for (key, want) in desired {
            if written.get(key) == Some(want) {
                continue;
            }
            if !*self.leader.borrow() {
                break;
            }
            if self.write(key.0, &key.1, &key.2, want).await {
                written.insert(key.clone(), want.clone());
            } else {
                failed += 1;
            }
        }
        failed
    }

    /// One status update with metrics; true on success (including no-op and gone).
    async fn write(&self, kind: &'static str, ns: &str, name: &str, want: &Desired) -> bool {
        let label = StatusMetrics::kind(kind);
        self.metrics.total.get_or_create(&label).inc();
        let started = Instant::now();
        let result = tokio::time::timeout(WRITE_TIMEOUT, self.apply(kind, ns, name, want)).await;
        let seconds = started.elapsed().as_secs_f64();
        let error = match result {
            Ok(Ok(outcome)) => {
                self.metrics.success.get_or_create(&label).inc();
                self.metrics.observe(kind, seconds, false);
                match outcome {
                    Outcome::Noop => {
                        self.metrics.noop.get_or_create(&label).inc();
                        debug!(kind, namespace = %ns, name = %name, "status update was a no-op");
                    }
                    Outcome::Written => {
                        debug!(kind, namespace = %ns, name = %name, "updated status")
                    }
                    Outcome::Gone => {
                        debug!(kind, namespace = %ns, name = %name, "object gone; status not written")
                    }
                }
                return true;
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("timed out after {WRITE_TIMEOUT:?}"),
        };
        self.metrics.failed.get_or_create(&label).inc();
        self.metrics.observe(kind, seconds, true);
        warn!(kind, namespace = %ns, name = %name, error, "unable to update status");
        false
    }

    /// Read, merge, compare, write; a conflict (stale resourceVersion) starts over.
    async fn apply(
        &self,
        kind: &str,
        ns: &str,
        name: &str,
        want: &Desired,
    ) -> Result<Outcome, kube::Error> {
        let mut pause = Duration::from_millis(10);
        let mut attempt = 1;
        loop {
            let result = match want {
                Desired::Proxy(st) => self.apply_proxy(ns, name, st).await,
                Desired::Ingress(lb) => self.apply_ingress(ns, name, lb).await,
                Desired::Conditions(kind, want) => {
                    conditions::apply(&self.client, *kind, ns, name, want, &now_rfc3339()).await
                }
            };
            match result {
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    self.metrics
                        .conflict
                        .get_or_create(&StatusMetrics::kind(kind))
                        .inc();
                    if attempt >= MAX_ATTEMPTS {
                        return Err(kube::Error::Api(s));
                    }
                    debug!(
                        kind,
                        namespace = ns,
                        name,
                        attempt,
                        "status update conflict; retrying"
                    );
                    attempt += 1;
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
                other => return other,
            }
        }
    }

    async fn apply_proxy(
        &self,
        ns: &str,
        name: &str,
        want: &HTTPProxyStatus,
    ) -> Result<Outcome, kube::Error> {
        let api: Api<HTTPProxy> = Api::namespaced(self.client.clone(), ns);
        let Some(mut obj) = api.get_opt(name).await? else {
            return Ok(Outcome::Gone);
        };
        let now = now_rfc3339();
        let merged = merge::merge_proxy_status(obj.status.as_ref(), want, &now);
        if merge::same_status(obj.status.as_ref(), Some(&merged)) {
            return Ok(Outcome::Noop);
        }
        obj.status = Some(merged);
        obj.metadata.managed_fields = None;
        api.replace_status(name, &PostParams::default(), &obj)
            .await?;
        Ok(Outcome::Written)
    }

    async fn apply_ingress(
        &self,
        ns: &str,
        name: &str,
        want: &IngressLoadBalancerStatus,
    ) -> Result<Outcome, kube::Error> {
        let api: Api<Ingress> = Api::namespaced(self.client.clone(), ns);
        let Some(mut obj) = api.get_opt(name).await? else {
            return Ok(Outcome::Gone);
        };
        let current = obj.status.as_ref().and_then(|s| s.load_balancer.as_ref());
        if current == Some(want) {
            return Ok(Outcome::Noop);
        }
        obj.status = Some(IngressStatus {
            load_balancer: Some(want.clone()),
        });
        obj.metadata.managed_fields = None;
        api.replace_status(name, &PostParams::default(), &obj)
            .await?;
        Ok(Outcome::Written)
    }
}

fn same_lb(a: &Lb, b: &Lb) -> bool {
    Arc::ptr_eq(a, b) || a == b
}

fn now_rfc3339() -> String {
    k8s_openapi::jiff::Timestamp::now()
        .round(k8s_openapi::jiff::Unit::Second)
        .map_or_else(
            |_| k8s_openapi::jiff::Timestamp::now().to_string(),
            |t| t.to_string(),
        )
}
