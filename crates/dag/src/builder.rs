//! `build`: a pure function of the cache and the configuration. Processors run in one fixed
//! order; user mistakes become status, never errors.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::cache::Cache;
use crate::model::{
    Dag, HTTP_LISTENER_NAME, HTTPS_LISTENER_NAME, Listener, Route, RouteAction, SecureVirtualHost,
    VirtualHost,
};
use crate::status::StatusSet;
use crate::vhost_policy::VhostPolicies;
use crate::{extension, httpproxy, ingress, service_policy};

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
    /// contour.yaml `policy.*`: headers added to every service.
    pub global_headers: crate::global_headers::GlobalHeaders,
    /// contour.yaml `tls.fallback-certificate` as `(namespace, name)`.
    pub fallback_certificate: Option<(String, String)>,
    /// contour.yaml `tls.envoy-client-certificate` as `(namespace, name)`: presented to TLS
    /// backends.
    pub envoy_client_certificate: Option<(String, String)>,
    /// contour.yaml `disablePermitInsecure`: ignore `permitInsecure` on HTTPProxy routes.
    pub disable_permit_insecure: bool,
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
            global_headers: Default::default(),
            fallback_certificate: None,
            envoy_client_certificate: None,
            disable_permit_insecure: false,
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
    https_vhosts: BTreeMap<String, SecureVirtualHost>,
    /// HTTPProxy FQDNs with TLS, and whether their routes also go to the secure host.
    proxy_tls: BTreeMap<String, ProxyTls>,
    disable_permit_insecure: bool,
}

/// How the routes of a TLS-enabled HTTPProxy are placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyTls {
    /// Routes go to the secure virtual host too (TLS is terminated and there is no TCP proxy).
    pub secure_routes: bool,
}

impl DagBuilder {
    fn http_vhost(&mut self, fqdn: &str) -> &mut VirtualHost {
        self.http_vhosts
            .entry(fqdn.to_string())
            .or_insert_with(|| VirtualHost {
                fqdn: fqdn.to_string(),
                ..Default::default()
            })
    }

    /// Adds (or replaces, by match key) a route on the insecure virtual host `fqdn`.
    pub fn add_http_route(&mut self, fqdn: &str, route: Route) {
        self.http_vhost(fqdn)
            .routes
            .insert(route.match_key(), Box::new(route));
    }

    /// Sets the host-wide policies (CORS, IP filter, local rate limit) of virtual host `fqdn`,
    /// on the secure host too when the proxy's routes go there (as upstream).
    pub fn set_vhost_policies(&mut self, fqdn: &str, policies: VhostPolicies) {
        let secure = self.proxy_tls.get(fqdn).is_some_and(|t| t.secure_routes);
        if secure {
            self.secure_vhost(fqdn).virtual_host.policies = policies.clone();
        }
        self.http_vhost(fqdn).policies = policies;
    }

    /// The secure virtual host `fqdn`, created if needed.
    pub fn secure_vhost(&mut self, fqdn: &str) -> &mut SecureVirtualHost {
        self.https_vhosts
            .entry(fqdn.to_string())
            .or_insert_with(|| SecureVirtualHost::new(fqdn))
    }

    pub fn has_secure_vhost(&self, fqdn: &str) -> bool {
        self.https_vhosts.contains_key(fqdn)
    }

    /// Adds (or replaces, by match key) a route on the secure virtual host `fqdn`.
    pub fn add_https_route(&mut self, fqdn: &str, route: Route) {
        let vhost = &mut self.secure_vhost(fqdn).virtual_host;
        vhost.routes.insert(route.match_key(), Box::new(route));
    }

    /// Marks HTTPProxy `fqdn` as TLS-enabled before its routes are added.
    pub fn set_proxy_tls(&mut self, fqdn: &str, tls: ProxyTls) {
        self.proxy_tls.insert(fqdn.to_string(), tls);
    }

    /// Adds an HTTPProxy route. Without TLS it goes to the insecure host only. With TLS, the
    /// insecure host gets a 301 to https unless the route permits insecure traffic (and the
    /// configuration does not forbid that), and the secure host gets the route itself.
    /// Routes of a wildcard FQDN match a single DNS label.
    pub fn add_proxy_route(&mut self, fqdn: &str, mut route: Route, permit_insecure: bool) {
        if let Some(m) = crate::ingress::wildcard_authority(fqdn)
            && !route.headers.contains(&m)
        {
            route.headers.push(m);
            route.headers.sort();
        }
        let Some(tls) = self.proxy_tls.get(fqdn).copied() else {
            self.add_http_route(fqdn, route);
            return;
        };
        if tls.secure_routes {
            self.add_https_route(fqdn, route.clone());
        }
        if !permit_insecure || self.disable_permit_insecure {
            route.action = RouteAction::HttpsRedirect;
        }
        self.add_http_route(fqdn, route);
    }

    /// A builder for `cfg`.
    pub fn new(cfg: &BuildConfig) -> Self {
        DagBuilder {
            disable_permit_insecure: cfg.disable_permit_insecure,
            ..Default::default()
        }
    }

    /// Whether anything was built for `fqdn` (a plain or secure virtual host).
    pub fn has_host(&self, fqdn: &str) -> bool {
        self.http_vhosts.contains_key(fqdn) || self.https_vhosts.contains_key(fqdn)
    }

    /// The hosts Envoy gets, sorted by fqdn: a virtual host needs at least one route, a secure
    /// one a certificate and routes, or a TCP proxy.
    pub fn into_hosts(self) -> (Vec<VirtualHost>, Vec<SecureVirtualHost>) {
        let vhosts = self
            .http_vhosts
            .into_values()
            .filter(|v| !v.routes.is_empty())
            .collect();
        let secure = self
            .https_vhosts
            .into_values()
            .filter(SecureVirtualHost::is_valid)
            .collect();
        (vhosts, secure)
    }
}

/// The listeners serving `vhosts` and `secure` (each sorted by fqdn); a listener is present
/// only when it has a host.
pub fn listeners(
    cfg: &BuildConfig,
    vhosts: Vec<Arc<VirtualHost>>,
    secure: Vec<Arc<SecureVirtualHost>>,
) -> BTreeMap<String, Listener> {
    let mut out = BTreeMap::new();
    if !vhosts.is_empty() {
        out.insert(
            HTTP_LISTENER_NAME.to_string(),
            Listener {
                name: HTTP_LISTENER_NAME.to_string(),
                address: cfg.http_address.clone(),
                port: cfg.http_port,
                virtual_hosts: vhosts,
                ..Default::default()
            },
        );
    }
    if !secure.is_empty() {
        out.insert(
            HTTPS_LISTENER_NAME.to_string(),
            Listener {
                name: HTTPS_LISTENER_NAME.to_string(),
                address: cfg.https_address.clone(),
                port: cfg.https_port,
                secure_virtual_hosts: secure,
                ..Default::default()
            },
        );
    }
    out
}

/// Builds the configuration graph and the statuses from the cache.
pub fn build(cache: &Cache, cfg: &BuildConfig) -> BuildOutput {
    let mut builder = DagBuilder::new(cfg);
    let mut status = StatusSet::default();
    // Fixed order, as upstream: Ingress first, then ExtensionService (whose clusters HTTPProxy
    // features call out to), then HTTPProxy, so that an HTTPProxy route replaces an Ingress
    // route with the same match on the same host.
    ingress::process(cache, cfg, &mut builder);
    let extension_clusters = extension::process(cache, cfg, &mut status);
    httpproxy::process(cache, cfg, &mut builder, &mut status);
    let (vhosts, secure) = builder.into_hosts();
    let mut dag = Dag {
        listeners: listeners(
            cfg,
            vhosts.into_iter().map(Arc::new).collect(),
            secure.into_iter().map(Arc::new).collect(),
        ),
        extension_clusters,
        ..Default::default()
    };
    // After every processor: what the referenced Services themselves ask for.
    service_policy::apply(cache, cfg, &mut dag);
    crate::global_headers::apply(&cfg.global_headers, &mut dag);
    BuildOutput { dag, status }
}
