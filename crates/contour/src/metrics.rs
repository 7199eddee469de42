//! Prometheus metrics with upstream Contour's names.

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use contour_dag::StatusSet;

mod proxy_counts;
use proxy_counts::ProxyCounts;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildInfoLabels {
    pub branch: String,
    pub revision: String,
    pub version: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OpKindLabels {
    pub op: String,
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NamespaceLabel {
    pub namespace: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NamespaceVhostLabels {
    pub namespace: String,
    pub vhost: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TypeLabel {
    pub type_url: String,
}

pub struct Metrics {
    pub registry: Registry,
    pub dag_rebuild_total: Counter,
    pub dag_rebuild_timestamp: Gauge<f64, AtomicU64>,
    pub dag_rebuild_seconds: Histogram,
    pub dag_cache_object: Family<KindLabel, Gauge>,
    pub eventhandler_operation_total: Family<OpKindLabels, Counter>,
    pub httpproxy: Family<NamespaceLabel, Gauge>,
    pub httpproxy_root: Family<NamespaceLabel, Gauge>,
    pub httpproxy_orphaned: Family<NamespaceLabel, Gauge>,
    pub httpproxy_valid: Family<NamespaceVhostLabels, Gauge>,
    pub httpproxy_invalid: Family<NamespaceVhostLabels, Gauge>,
    pub eds_update_total: Counter,
    pub xds_nack_total: Family<TypeLabel, Counter>,
    /// What the HTTPProxy gauges show now (a build that changes none of them sets none).
    proxy_counts: Mutex<ProxyCounts<String>>,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let build_info = Family::<BuildInfoLabels, Gauge>::default();
        build_info
            .get_or_create(&BuildInfoLabels {
                branch: crate::version::BRANCH.to_string(),
                revision: option_env!("CONTOUR_GIT_SHA")
                    .unwrap_or("unknown")
                    .to_string(),
                version: crate::version::VERSION.to_string(),
            })
            .set(1);
        registry.register(
            "contour_build_info",
            "Build information for Contour.",
            build_info,
        );
        let m = Metrics {
            dag_rebuild_total: Counter::default(),
            dag_rebuild_timestamp: Gauge::default(),
            dag_rebuild_seconds: Histogram::new([
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            dag_cache_object: Family::default(),
            eventhandler_operation_total: Family::default(),
            httpproxy: Family::default(),
            httpproxy_root: Family::default(),
            httpproxy_orphaned: Family::default(),
            httpproxy_valid: Family::default(),
            httpproxy_invalid: Family::default(),
            eds_update_total: Counter::default(),
            xds_nack_total: Family::default(),
            proxy_counts: Mutex::default(),
            registry,
        };
        m.register()
    }

    fn register(mut self) -> Self {
        let r = &mut self.registry;
        r.register(
            "contour_dagrebuild",
            "Total number of times DAG has been rebuilt since startup",
            self.dag_rebuild_total.clone(),
        );
        r.register(
            "contour_dagrebuild_timestamp",
            "Timestamp of the last DAG rebuild.",
            self.dag_rebuild_timestamp.clone(),
        );
        r.register(
            "contour_dagrebuild_seconds",
            "Duration in seconds of DAG rebuilds",
            self.dag_rebuild_seconds.clone(),
        );
        r.register(
            "contour_dag_cache_object",
            "Total number of items that are currently in the DAG cache.",
            self.dag_cache_object.clone(),
        );
        r.register("contour_eventhandler_operation", "Total number of Kubernetes object changes Contour has received by operation and object kind.", self.eventhandler_operation_total.clone());
        r.register(
            "contour_httpproxy",
            "Total number of HTTPProxies that exist regardless of status.",
            self.httpproxy.clone(),
        );
        r.register("contour_httpproxy_root", "Total number of root HTTPProxies. Note there will only be a single root HTTPProxy per vhost.", self.httpproxy_root.clone());
        r.register(
            "contour_httpproxy_orphaned",
            "Total number of orphaned HTTPProxies which have no root delegating to them.",
            self.httpproxy_orphaned.clone(),
        );
        r.register(
            "contour_httpproxy_valid",
            "Total number of valid HTTPProxies.",
            self.httpproxy_valid.clone(),
        );
        r.register(
            "contour_httpproxy_invalid",
            "Total number of invalid HTTPProxies.",
            self.httpproxy_invalid.clone(),
        );
        r.register(
            "contour_eds_update",
            "Endpoint-only updates sent to EDS without a DAG rebuild.",
            self.eds_update_total.clone(),
        );
        r.register(
            "contour_xds_nack",
            "Configuration updates Envoy rejected, by resource type.",
            self.xds_nack_total.clone(),
        );
        self
    }

    /// Sets the HTTPProxy gauges from a build's statuses; `roots` gives the namespace of each
    /// root HTTPProxy. Nothing is set when the counts are those shown.
    pub fn record_statuses<'a>(&self, status: &'a StatusSet, roots: impl Iterator<Item = &'a str>) {
        let counts = ProxyCounts::of(status, roots);
        let Ok(mut shown) = self.proxy_counts.lock() else {
            return;
        };
        if counts.same_as(&shown) {
            return;
        }
        *shown = counts.to_owned();
        let counts = &*shown;
        self.httpproxy.clear();
        self.httpproxy_root.clear();
        self.httpproxy_orphaned.clear();
        self.httpproxy_valid.clear();
        self.httpproxy_invalid.clear();
        let by_ns = [
            (&self.httpproxy, &counts.all),
            (&self.httpproxy_root, &counts.roots),
            (&self.httpproxy_orphaned, &counts.orphaned),
        ];
        for (family, counts) in by_ns {
            for (ns, n) in counts {
                let label = NamespaceLabel {
                    namespace: ns.clone(),
                };
                family.get_or_create(&label).set(*n);
            }
        }
        let by_vhost = [
            (&self.httpproxy_valid, &counts.valid),
            (&self.httpproxy_invalid, &counts.invalid),
        ];
        for (family, counts) in by_vhost {
            for (ns, vhosts) in counts {
                for (vhost, n) in vhosts {
                    let labels = NamespaceVhostLabels {
                        namespace: ns.clone(),
                        vhost: vhost.clone(),
                    };
                    family.get_or_create(&labels).set(*n);
                }
            }
        }
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
