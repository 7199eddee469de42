//! contour-envoy: DAG → Envoy protos, resource naming, and the Envoy bootstrap.
//!
//! One module per resource family, each made of small pure functions named after what they
//! return, so tests (here and elsewhere) can build expected values with them:
//! [`listener`] (LDS, plus [`stats`] for the static stats/health listener), [`route`] (RDS),
//! [`cluster`] (CDS), [`endpoint`] (EDS), [`runtime`] (RTDS), [`bootstrap`] (Envoy's startup
//! JSON) and [`names`] (every compatibility name).
//!
//! [`translate`] gives every type but EDS as packed `Any`s keyed by resource name. Output is
//! deterministic: an identical DAG gives byte-identical resources (within one process; see
//! [`pb::det_map`]).

pub mod accesslog;
pub mod auth;
pub mod bootstrap;
pub mod cluster;
pub mod config;
pub mod endpoint;
pub mod filters;
pub mod incremental;
pub mod listener;
pub mod names;
pub mod pb;
pub mod route;
pub mod runtime;
pub mod scopes;
pub mod secret;
pub mod splice;
pub mod stats;

use std::collections::BTreeMap;

use contour_dag::Dag;
use envoy_types::pb::google::protobuf::Any;

pub use bootstrap::{
    BootstrapConfig, BootstrapError, BootstrapMode, DnsLookupFamily, XdsTls, bootstrap_json,
    bootstrap_sds_files,
};
pub use cluster::clusters;
pub use config::{Compression, HttpVersion, TimeoutSetting, TlsParams, TranslateConfig};
pub use endpoint::{cluster_load_assignment, extension_cluster_load_assignment};
pub use incremental::{Changes, Encoded, Translator};
pub use listener::listeners;
pub use pb::to_any;
pub use route::{RouteOptions, route_configurations};
pub use runtime::runtime;

/// xDS type URLs of the resources we serve.
pub const LISTENER_TYPE_URL: &str = "type.googleapis.com/envoy.config.listener.v3.Listener";
pub const ROUTE_TYPE_URL: &str = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
pub const CLUSTER_TYPE_URL: &str = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
pub const ENDPOINT_TYPE_URL: &str =
    "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
pub const SECRET_TYPE_URL: &str =
    "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
pub const RUNTIME_TYPE_URL: &str = "type.googleapis.com/envoy.service.runtime.v3.Runtime";

/// Every resource but endpoints, packed and keyed by resource name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    pub listeners: BTreeMap<String, Any>,
    pub routes: BTreeMap<String, Any>,
    /// Route scopes (SRDS), only with `--http-route-scopes`.
    pub scoped_routes: BTreeMap<String, Any>,
    pub clusters: BTreeMap<String, Any>,
    /// Certificates referenced by secure virtual hosts and TLS clusters, and the metrics
    /// listener's certificate files.
    pub secrets: BTreeMap<String, Any>,
    pub runtimes: BTreeMap<String, Any>,
}

/// Translates a DAG into every xDS resource except EDS (endpoints take their own path).
pub fn translate(dag: &Dag, cfg: &TranslateConfig) -> Resources {
    Resources {
        listeners: keyed(listeners(dag, cfg), |l| l.name.clone()),
        routes: keyed(
            route_configurations(dag, RouteOptions::for_config(cfg), scopes::scopes(cfg)),
            |r| r.name.clone(),
        ),
        scoped_routes: keyed(scopes::scoped_route_configurations(cfg), |s| s.name.clone()),
        clusters: keyed(
            clusters(dag, cfg)
                .into_iter()
                .chain(cluster::extension::extension_clusters(dag, cfg))
                .collect(),
            |c| c.name.clone(),
        ),
        secrets: keyed(
            secret::secrets(dag)
                .into_iter()
                .chain(stats::stats_secrets(cfg))
                .collect(),
            |s| s.name.clone(),
        ),
        runtimes: keyed(vec![runtime::runtime_for(dag, cfg)], |r| r.name.clone()),
    }
}

fn keyed<T: prost::Message + prost::Name>(
    items: Vec<T>,
    name: impl Fn(&T) -> String,
) -> BTreeMap<String, Any> {
    items.iter().map(|i| (name(i), to_any(i))).collect()
}

#[cfg(test)]
mod tests;
