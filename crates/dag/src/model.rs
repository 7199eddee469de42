//! The configuration graph: what Envoy should do, with no Envoy and no Kubernetes client types.
//!
//! Everything here is plain data, ordered deterministically (BTreeMap / sorted Vec), so that the
//! same cache always gives the same graph and the same Envoy resources.

use std::collections::BTreeMap;
use std::sync::Arc;

pub use crate::model_extension::{
    EXTENSION_PREFIX, ExtensionCluster, ExtensionLoadAssignment, Locality, WeightedService,
    extension_cluster_name,
};
pub use crate::model_tls::{
    ClientValidation, ForwardClientCertificate, Secret, SecureVirtualHost, TcpProxy, TlsVersion,
    UpstreamValidation,
};
use crate::policy::{ClusterPolicy, HeadersPolicy, MirrorPolicy, Redirect, RoutePolicy};
pub use crate::rare::Rare;
use crate::vhost_policy::{CookieRewrite, RoutePolicies, VhostPolicies};

/// Upstream's listener names.
pub const HTTP_LISTENER_NAME: &str = "ingress_http";
pub const HTTPS_LISTENER_NAME: &str = "ingress_https";

/// The whole graph produced by one build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dag {
    /// Listeners by name. A listener is present only when it has something to serve.
    pub listeners: BTreeMap<String, Listener>,
    /// Per-Service settings of the Services routes forward to, by `(namespace, name)`; only
    /// Services with something set (see [`crate::service_policy`]).
    pub services: BTreeMap<(String, String), ServicePolicy>,
    /// Clusters of valid ExtensionServices, by cluster name (`extension/<ns>/<name>`).
    pub extension_clusters: BTreeMap<String, ExtensionCluster>,
}

impl Dag {
    /// Every distinct cluster a route or TCP proxy forwards to, ordered by service, port and
    /// policy.
    pub fn clusters(&self) -> Vec<&Cluster> {
        self.shared_clusters().into_iter().map(|c| &**c).collect()
    }

    /// [`Self::clusters`] as the `Arc`s the DAG holds them in, for a caller that keeps them.
    pub fn shared_clusters(&self) -> Vec<&Arc<Cluster>> {
        // The first cluster of each service, port and policy in the order of
        // [`Self::cluster_uses`] wins. A stable sort keeps that order among equal keys; with
        // plain loops it is several times faster than a map at 10,000 hosts.
        let mut keyed: Vec<(&Arc<Cluster>, String)> = Vec::new();
        for c in self.cluster_uses() {
            push(&mut keyed, c);
        }
        keyed.sort_by(|a, b| cluster_key(a).cmp(&cluster_key(b)));
        keyed.dedup_by(|later, earlier| cluster_key(later) == cluster_key(earlier));
        keyed.into_iter().map(|(c, _)| c).collect()
    }

    /// Every use of a cluster, repeats included, in the order that breaks ties among equal
    /// clusters in [`Self::clusters`]: the routes of every host, then the TCP proxies, listener
    /// by listener, then the mirrors. Shared clusters come as their `Arc`s, so that a caller
    /// can recognise a cluster it has seen by pointer.
    pub fn cluster_uses(&self) -> impl Iterator<Item = &Arc<Cluster>> {
        let forwards = self.listeners.values().flat_map(|l| {
            let routes = l.forwards().flat_map(|f| f.clusters.iter());
            let tcp = l
                .secure_virtual_hosts
                .iter()
                .filter_map(|s| s.tcp_proxy.as_ref())
                .flat_map(|t| t.clusters.iter());
            routes.chain(tcp).map(|wc| &wc.cluster)
        });
        let mirrors = self
            .listeners
            .values()
            .flat_map(|l| l.forwards().filter_map(|f| f.mirror.as_ref()))
            .map(|m| &m.cluster);
        forwards.chain(mirrors)
    }
}

impl Listener {
    /// The routes of every plain, then every secure, virtual host.
    fn routes(&self) -> impl Iterator<Item = &Route> {
        let plain = self.virtual_hosts.iter().map(|v| &**v);
        let secure = self.secure_virtual_hosts.iter().map(|s| &s.virtual_host);
        plain
            .chain(secure)
            .flat_map(|v| v.routes.values().map(|r| &**r))
    }

    /// The forwards among [`Self::routes`].
    fn forwards(&self) -> impl Iterator<Item = &Forward> {
        self.routes().filter_map(|r| match &r.action {
            RouteAction::Forward(f) => Some(f),
            _ => None,
        })
    }
}

/// Adds `c` with its policy key, unless it equals the previous one (the routes of one host often
/// repeat a cluster).
fn push<'a>(keyed: &mut Vec<(&'a Arc<Cluster>, String)>, c: &'a Arc<Cluster>) {
    if keyed
        .last()
        .is_none_or(|(prev, _)| !Arc::ptr_eq(prev, c) && *prev != c)
    {
        keyed.push((c, c.policy_key()));
    }
}

/// What makes clusters distinct: service, port and policy.
fn cluster_key<'a>((c, policy): &'a (&Arc<Cluster>, String)) -> (&'a str, &'a str, u16, &'a str) {
    let s = &c.service;
    (
        s.namespace.as_str(),
        s.name.as_str(),
        s.port,
        policy.as_str(),
    )
}

/// A listener Envoy binds. `ingress_http` for plain HTTP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listener {
    pub name: String,
    pub address: String,
    pub port: u16,
    /// Virtual hosts sorted by fqdn. Shared (`Arc`): the incremental build hands unchanged
    /// hosts from one build to the next, and the translator sees them unchanged by pointer.
    pub virtual_hosts: Vec<Arc<VirtualHost>>,
    /// TLS virtual hosts (one filter chain each), sorted by fqdn. Only on `ingress_https`.
    pub secure_virtual_hosts: Vec<Arc<SecureVirtualHost>>,
}

/// An HTTP virtual host. `fqdn` is `*` for rules without a host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VirtualHost {
    pub fqdn: String,
    /// Routes keyed by their match conditions (see [`Route::match_key`]), so a later
    /// processor replaces an earlier route with the same match. Boxed: a `Route` is several
    /// hundred bytes and a B-tree leaf holds eleven entries inline, so unboxed every host with
    /// one route paid for eleven (about 90 MB at 10,000 hosts).
    pub routes: BTreeMap<String, Box<Route>>,
    /// CORS, IP filter and local rate limit of the whole host (HTTPProxy roots only).
    pub policies: VhostPolicies,
}

/// Path match of a route.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathMatch {
    /// String prefix match (`/` or HTTPProxy prefix conditions).
    Prefix(String),
    /// Path-segment prefix: `/foo` matches `/foo` and `/foo/bar` but not `/foobar`
    /// (Ingress `pathType: Prefix`).
    SegmentPrefix(String),
    Exact(String),
    Regex(String),
}

impl PathMatch {
    pub fn value(&self) -> &str {
        match self {
            PathMatch::Prefix(s)
            | PathMatch::SegmentPrefix(s)
            | PathMatch::Exact(s)
            | PathMatch::Regex(s) => s,
        }
    }
}

impl Default for PathMatch {
    fn default() -> Self {
        PathMatch::Prefix("/".to_string())
    }
}

/// How a header is matched. Extended by the HTTPProxy issue.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HeaderMatchKind {
    Present,
    NotPresent,
    Exact(String),
    NotExact(String),
    Contains(String),
    NotContains(String),
    Regex(String),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HeaderMatch {
    pub name: String,
    pub kind: HeaderMatchKind,
    pub ignore_case: bool,
    pub treat_missing_as_empty: bool,
}

/// Kubernetes identity of the object a route came from (route metadata, status).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectRef {
    pub fn new(kind: &str, namespace: &str, name: &str) -> Self {
        ObjectRef {
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }
}

/// How a query parameter is matched (HTTPProxy `queryParameter` conditions).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QueryMatchKind {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Regex(String),
    Contains(String),
    Present,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueryParamMatch {
    pub name: String,
    pub kind: QueryMatchKind,
    pub ignore_case: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    pub path: PathMatch,
    /// Header conditions, sorted.
    pub headers: Vec<HeaderMatch>,
    /// Query parameter conditions, in declaration order down the include chain.
    pub query_params: Vec<QueryParamMatch>,
    pub action: RouteAction,
    /// The object this route came from; shared by the routes of one object.
    pub source: Arc<ObjectRef>,
    /// Timeouts, retries, header changes, rewrites... (HTTPProxy route policies); out of line
    /// because almost every route leaves them unset (see [`Rare`]).
    pub policy: Rare<RoutePolicy>,
    /// IP filter, local rate limit and cookie rewrites of this route; out of line likewise.
    pub policies: Rare<RoutePolicies>,
}

impl Route {
    /// The key routes are stored under in [`VirtualHost::routes`]: two routes with the same key
    /// match the same requests.
    pub fn match_key(&self) -> String {
        let mut key = match &self.path {
            PathMatch::Prefix(p) => format!("prefix:{p}"),
            PathMatch::SegmentPrefix(p) => format!("segment:{p}"),
            PathMatch::Exact(p) => format!("exact:{p}"),
            PathMatch::Regex(p) => format!("regex:{p}"),
        };
        for h in &self.headers {
            key.push_str(&format!("|header:{h:?}"));
        }
        for q in &self.query_params {
            key.push_str(&format!("|query:{q:?}"));
        }
        key
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteAction {
    /// Forward to one or more weighted clusters.
    Forward(Forward),
    /// Answer directly (503 for a route without valid services, 502 for a missing include).
    DirectResponse { status: u32, body: Option<String> },
    /// Answer with a redirect (`requestRedirectPolicy`). Boxed: rare, and larger than the
    /// other actions.
    Redirect(Box<Redirect>),
    /// 301 to the same URL over https: the plain-HTTP side of a route of a TLS virtual host
    /// (unless `permitInsecure`), or of an Ingress with `force-ssl-redirect`.
    HttpsRedirect,
}

impl Default for RouteAction {
    /// A forward without clusters, which answers 503 like a route without valid services.
    fn default() -> Self {
        RouteAction::Forward(Forward::default())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forward {
    /// Clusters with their weights, in declaration order. When every weight is zero the
    /// translator splits traffic evenly.
    pub clusters: Vec<WeightedCluster>,
    /// A service marked `mirror: true`: requests are copied to it.
    pub mirror: Option<Box<MirrorPolicy>>,
}

/// One service of a forward. Its cluster is shared (`Arc`): the routes of a proxy mostly
/// forward to the same few clusters, and a `Cluster` is several hundred bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeightedCluster {
    pub cluster: Arc<Cluster>,
    pub weight: u32,
    /// Service-level header changes (on the weighted cluster, not the cluster).
    pub request_headers: Option<Box<HeadersPolicy>>,
    pub response_headers: Option<Box<HeadersPolicy>>,
    /// Set-Cookie rewrites declared on this service (merged over the route's).
    pub cookie_rewrites: Vec<CookieRewrite>,
}

/// An upstream cluster: a Service port plus the policies that make clusters differ.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cluster {
    pub service: ServiceCluster,
    /// Load-balancing strategy name as upstream spells it (empty = default RoundRobin).
    pub lb_strategy: String,
    /// Upstream protocol: "" (HTTP/1.1), `h2`, `h2c` or `tls`.
    pub protocol: String,
    /// SNI sent to a TLS backend ("" for none).
    pub sni: String,
    /// Backend certificate validation (only with `tls`/`h2`).
    pub upstream_validation: Option<Box<UpstreamValidation>>,
    /// Certificate Envoy presents to TLS backends (`tls.envoy-client-certificate`).
    pub client_certificate: Option<Box<Secret>>,
    /// Health check, protocol, idle timeout, slow start...
    pub policy: ClusterPolicy,
}

impl Cluster {
    /// The policy part of the cluster identity: upstream hashes these strings into the
    /// cluster name's suffix, in upstream's order. Empty for a default cluster.
    pub fn policy_key(&self) -> String {
        let mut key = self.lb_strategy.clone();
        key.push_str(&self.policy.health_hash());
        if let Some(uv) = &self.upstream_validation {
            key.push_str(&uv.ca_secret_name);
            key.push_str(uv.subject_names.first().map_or("", String::as_str));
        }
        key.push_str(&self.protocol);
        key.push_str(&self.sni);
        key.push_str(&self.policy.tail_hash());
        key
    }

    /// Whether Envoy speaks TLS to this cluster.
    pub fn is_tls(&self) -> bool {
        matches!(self.protocol.as_str(), "tls" | "h2")
    }
}

/// A resolved Service port.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServiceCluster {
    pub namespace: String,
    pub name: String,
    /// The Service port number.
    pub port: u16,
    /// The Service port name ("" when unnamed). EndpointSlice ports are matched by it.
    pub port_name: String,
    /// `services[].healthPort` of a service with a health check policy, when it names another
    /// port of the Service: health checks go to that port. Not part of the cluster's name
    /// (as upstream), so the first cluster of a given name decides.
    pub health_port: Option<HealthPort>,
}

/// The Service port health checks are sent to.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct HealthPort {
    /// The Service port number (the health-check port of an ExternalName Service).
    pub port: u16,
    /// Its name: the EndpointSlice port of that name gives each endpoint's health-check port.
    pub name: String,
}

impl ServiceCluster {
    /// EDS service name as upstream: `<ns>/<svc>/<portName>`, or `<ns>/<svc>` when unnamed.
    pub fn eds_name(&self) -> String {
        if self.port_name.is_empty() {
            format!("{}/{}", self.namespace, self.name)
        } else {
            format!("{}/{}/{}", self.namespace, self.name, self.port_name)
        }
    }
}

/// The endpoints of one EDS name, computed from EndpointSlices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadAssignment {
    pub eds_name: String,
    /// Ready `(address, port)` pairs, sorted and deduplicated.
    pub endpoints: Vec<(String, u16)>,
    /// The health-check port of the endpoints whose health checks go elsewhere than their
    /// traffic port (`services[].healthPort`).
    pub health_check_ports: BTreeMap<(String, u16), u16>,
}

/// What a Service itself asks for, beyond its ports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServicePolicy {
    /// `projectcontour.io/max-connections` and friends.
    pub circuit_breakers: CircuitBreakers,
    /// The DNS name of an allowed `type: ExternalName` Service.
    pub external_name: Option<String>,
}

/// Circuit breaker thresholds; `None` leaves the global default (or Envoy's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CircuitBreakers {
    pub max_connections: Option<u32>,
    pub max_pending_requests: Option<u32>,
    pub max_requests: Option<u32>,
    pub max_retries: Option<u32>,
    pub per_host_max_connections: Option<u32>,
}
