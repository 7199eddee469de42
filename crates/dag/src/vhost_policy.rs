//! Virtual-host and route policies of the graph: CORS, IP filters, local rate limits and
//! cookie rewrites. Plain data, validated by the processors (see
//! `httpproxy/vhost_policies.rs`), turned into Envoy per-filter configuration by the translator.
//!
//! User strings here are only ever carried as data: nothing in this module is meant to be
//! spliced into code or configuration templates.

/// Policies that apply to a whole virtual host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VhostPolicies {
    pub cors: Option<CorsPolicy>,
    pub local_rate_limit: Option<LocalRateLimit>,
    pub ip_filter: Option<IpFilter>,
}

impl VhostPolicies {
    pub fn is_empty(&self) -> bool {
        self == &VhostPolicies::default()
    }
}

/// Policies of one route. A route's IP filter and local rate limit replace the virtual host's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutePolicies {
    /// Boxed: every route has one, few set it.
    pub local_rate_limit: Option<Box<LocalRateLimit>>,
    pub ip_filter: Option<IpFilter>,
    /// Set-Cookie rewrites declared on the route (services have their own, see
    /// [`crate::WeightedCluster::cookie_rewrites`]).
    pub cookie_rewrites: Vec<CookieRewrite>,
}

crate::rare::shared_default!(RoutePolicies);

impl RoutePolicies {
    pub fn is_empty(&self) -> bool {
        self == &RoutePolicies::default()
    }
}

/// Cross-origin resource sharing for a virtual host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsPolicy {
    pub allow_credentials: bool,
    /// Allowed origins in declaration order.
    pub allow_origin: Vec<CorsOrigin>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: MaxAge,
    pub allow_private_network: bool,
}

/// How an allowed origin is matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigin {
    /// `scheme://host[:port]` or `*`, compared case-insensitively.
    Exact(String),
    /// A regular expression (RE2) over the whole origin.
    Regex(String),
}

/// `Access-Control-Max-Age`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MaxAge {
    /// Leave it to Envoy (no header).
    #[default]
    Default,
    /// `0`: preflight results are not cached.
    Disabled,
    /// A duration, in nanoseconds (rendered as whole seconds).
    Nanos(i128),
}

/// A token bucket enforced by each Envoy on its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalRateLimit {
    /// Bucket size: requests plus burst.
    pub max_tokens: u32,
    /// Tokens added each interval: the requests.
    pub tokens_per_fill: u32,
    pub fill_interval_secs: u64,
    /// Status of limited responses; `None` leaves Envoy's 429.
    pub response_status_code: Option<u32>,
    /// Headers added to limited responses, canonical names, sorted by name; values are
    /// already escaped for Envoy's header formatter.
    pub response_headers_to_add: Vec<(String, String)>,
}

/// IP allow or deny rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpFilter {
    /// `true`: only matching clients pass; `false`: matching clients are denied.
    pub allow: bool,
    pub rules: Vec<IpRule>,
}

/// One CIDR block, matched against the connection's peer or the client address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpRule {
    /// `Remote`: the client address after X-Forwarded-For / PROXY; otherwise the peer.
    pub remote: bool,
    /// The network address (host bits cleared), in canonical text form.
    pub address_prefix: String,
    pub prefix_len: u32,
}

/// Rewrites of the attributes of the `Set-Cookie` headers for one cookie name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CookieRewrite {
    pub name: String,
    pub path: Option<String>,
    pub domain: Option<String>,
    pub secure: Option<bool>,
    pub same_site: Option<String>,
}

/// The rewrites that apply to responses of one service of a route: the route's, then the
/// service's, attribute by attribute (a service setting wins for its cookie), sorted by name.
pub fn merge_cookie_rewrites(
    route: &[CookieRewrite],
    service: &[CookieRewrite],
) -> Vec<CookieRewrite> {
    let mut out: Vec<CookieRewrite> = Vec::new();
    for p in route.iter().chain(service) {
        let idx = match out.iter().position(|c| c.name == p.name) {
            Some(i) => i,
            None => {
                out.push(CookieRewrite {
                    name: p.name.clone(),
                    ..Default::default()
                });
                out.len() - 1
            }
        };
        let slot = &mut out[idx];
        slot.path = p.path.clone().or(slot.path.take());
        slot.domain = p.domain.clone().or(slot.domain.take());
        slot.secure = p.secure.or(slot.secure);
        slot.same_site = p.same_site.clone().or(slot.same_site.take());
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(name: &str, path: Option<&str>, secure: Option<bool>) -> CookieRewrite {
        CookieRewrite {
            name: name.into(),
            path: path.map(str::to_string),
            secure,
            ..Default::default()
        }
    }

    #[test]
    fn service_settings_win_attribute_by_attribute() {
        let route = [rewrite("s", Some("/route"), Some(true))];
        let service = [
            rewrite("s", Some("/svc"), None),
            rewrite("a", None, Some(false)),
        ];
        let m = merge_cookie_rewrites(&route, &service);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].name, "a");
        assert_eq!(
            (m[1].path.as_deref(), m[1].secure),
            (Some("/svc"), Some(true))
        );
    }
}
