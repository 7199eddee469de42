//! `build`: a pure function of the cache and the configuration. Processors run in one fixed
//! order; user mistakes become status, never errors.

use std::collections::BTreeMap;

use crate::cache::Cache;
use crate::model::{Dag, HTTP_LISTENER_NAME, Listener, Route, VirtualHost};
use crate::status::StatusSet;
use crate::{httpproxy, ingress, service_policy};

/// Build settings that come from flags and contour.yaml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildConfig {
    pub http_address: String,
    pub http_port: u16,
    pub https_address: String,
    pub https_port: u16,
    /// HTTPProxy roots are allowed only in these namespaces (empty: everywhere).
    pub root_namespaces: Vec<String>,
    /// Route to `type: ExternalName` Services (`enableExternalNameService`, off by default).
    pub enable_external_name_service: bool,
}

impl Default for BuildConfig {
    fn default() -> Self {
        BuildConfig {
            http_address: "0.0.0.0".to_string(),
            http_port: 8080,
            https_address: "0.0.0.0".to_string(),
            https_port: 8443,
            root_namespaces: Vec::new(),
            enable_external_name_service: false,
        }
    }
}

/// The result of one build.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BuildOutput {
    pub dag: Dag,
    pub status: StatusSet,
}

/// Virtual hosts under construction, keyed by fqdn.
#[derive(Debug, Default)]
pub struct DagBuilder {
    http_vhosts: BTreeMap<String, VirtualHost>,
}

impl DagBuilder {
    /// Adds (or replaces, by match key) a route on the insecure virtual host `fqdn`.
    pub fn add_http_route(&mut self, fqdn: &str, route: Route) {
        let vhost = self
            .http_vhosts
            .entry(fqdn.to_string())
            .or_insert_with(|| VirtualHost {
                fqdn: fqdn.to_string(),
                ..Default::default()
            });
        vhost.routes.insert(route.match_key(), route);
    }

    fn finish(self, cfg: &BuildConfig) -> Dag {
        let mut dag = Dag::default();
        // A virtual host needs at least one route; a listener needs at least one virtual host.
        let vhosts: Vec<VirtualHost> = self
            .http_vhosts
            .into_values()
            .filter(|v| !v.routes.is_empty())
            .collect();
        if !vhosts.is_empty() {
            dag.listeners.insert(
                HTTP_LISTENER_NAME.to_string(),
                Listener {
                    name: HTTP_LISTENER_NAME.to_string(),
                    address: cfg.http_address.clone(),
                    port: cfg.http_port,
                    virtual_hosts: vhosts,
                },
            );
        }
        dag
    }
}

/// Builds the configuration graph and the statuses from the cache.
pub fn build(cache: &Cache, cfg: &BuildConfig) -> BuildOutput {
    let mut builder = DagBuilder::default();
    let mut status = StatusSet::default();
    // Fixed order, as upstream: Ingress first, then HTTPProxy, so that an HTTPProxy route
    // replaces an Ingress route with the same match on the same host.
    ingress::process(cache, &mut builder);
    httpproxy::process(cache, cfg, &mut builder, &mut status);
    let mut dag = builder.finish(cfg);
    // After every processor: what the referenced Services themselves ask for.
    service_policy::apply(cache, cfg, &mut dag);
    BuildOutput { dag, status }
}
