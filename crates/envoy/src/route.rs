//! RDS: route configurations, virtual hosts and routes from the DAG.

mod order;
pub mod policies;

pub use order::{header_cmp, route_cmp};

use contour_dag::{
    CookieRewrite, Dag, Forward, HeaderMatch, HeaderMatchKind, ObjectRef, PathMatch, RouteAction,
};
use envoy_types::pb::envoy::config::core::v3::{
    DataSource, HeaderValue, HeaderValueOption, Metadata, data_source,
    header_value_option::HeaderAppendAction,
};
use envoy_types::pb::envoy::config::route::v3::{
    DirectResponseAction, HeaderMatcher, RedirectAction, Route, RouteConfiguration, RouteMatch,
    VirtualHost, WeightedCluster, header_matcher, redirect_action, route, route_action,
    route_match, weighted_cluster,
};
use envoy_types::pb::envoy::r#type::matcher::v3::{RegexMatcher, StringMatcher, string_matcher};
use envoy_types::pb::google::protobuf::{Struct, Value, value};

use crate::config::TranslateConfig;
use crate::filters::{lua, route_filter_configs, vhost_filter_configs};
use crate::names::{
    FALLBACK_CERT_ROUTE_CONFIG_NAME, HTTP_LISTENER_NAME, HTTPS_LISTENER_NAME, cluster_name,
    https_route_config_name, virtual_host_name,
};
use crate::pb::{det_map, u32v};

/// Filter metadata namespace upstream puts the route's source object under, so access-log
/// formats can use `%METADATA(ROUTE:envoy.access_loggers.file:io.projectcontour.kind)%`.
pub const ROUTE_METADATA_NAMESPACE: &str = "envoy.access_loggers.file";

/// What goes into routes besides what Envoy needs to route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteOptions {
    /// Each route names its source object in [`ROUTE_METADATA_NAMESPACE`]. Upstream always
    /// sends it; it is about three quarters of a plain route's bytes, and only an access log
    /// format with `%METADATA(ROUTE:...)%` reads it, so it is sent only then.
    pub source_metadata: bool,
}

impl RouteOptions {
    /// Source metadata on every route, as upstream sends it.
    pub const WITH_METADATA: RouteOptions = RouteOptions {
        source_metadata: true,
    };

    pub fn for_config(cfg: &TranslateConfig) -> RouteOptions {
        RouteOptions {
            source_metadata: cfg.access_log.reads_route_metadata(),
        }
    }
}

/// Every route configuration, sorted by name. `ingress_http` is always present, even empty
/// (with `scopes`, every `ingress_http/<k>` instead: see [`crate::scopes`]); then
/// `https/<fqdn>` per secure virtual host with routes, and `ingress_fallbackcert` when a host
/// enables the fallback certificate.
pub fn route_configurations(
    dag: &Dag,
    opts: RouteOptions,
    scopes: Option<u16>,
) -> Vec<RouteConfiguration> {
    let vhosts: Vec<VirtualHost> = dag
        .listeners
        .get(HTTP_LISTENER_NAME)
        .map(|l| l.virtual_hosts.as_slice())
        .unwrap_or_default()
        .iter()
        .filter_map(|v| virtual_host(v, opts))
        .collect();
    let mut out = match scopes {
        None => vec![route_configuration(HTTP_LISTENER_NAME, vhosts)],
        Some(n) => crate::scopes::split(vhosts, |v| &v.domains, n)
            .into_iter()
            .zip(0..)
            .map(|(vhosts, k)| scope_route_configuration(k, vhosts))
            .collect(),
    };
    out.extend(secure_route_configurations(dag, opts));
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The route configuration of scope `k`: [`route_configuration`] that also removes the scope
/// key header before the request is forwarded.
pub fn scope_route_configuration(k: u16, vhosts: Vec<VirtualHost>) -> RouteConfiguration {
    let mut rc = route_configuration(&crate::scopes::scope_route_config_name(k), vhosts);
    rc.request_headers_to_remove = vec![crate::scopes::SCOPE_HEADER.to_string()];
    rc
}

/// `https/<fqdn>` for each secure virtual host with routes, plus `ingress_fallbackcert`
/// aggregating the hosts that enable the fallback certificate.
pub fn secure_route_configurations(dag: &Dag, opts: RouteOptions) -> Vec<RouteConfiguration> {
    let svhs = dag
        .listeners
        .get(HTTPS_LISTENER_NAME)
        .map(|l| l.secure_virtual_hosts.as_slice())
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut fallback = Vec::new();
    for svh in svhs.iter().filter(|s| s.tcp_proxy.is_none()) {
        let Some(vh) = virtual_host(&svh.virtual_host, opts) else {
            continue;
        };
        if svh.fallback_certificate.is_some() {
            fallback.push(vh.clone());
        }
        out.push(route_configuration(
            &https_route_config_name(svh.fqdn()),
            vec![vh],
        ));
    }
    if !fallback.is_empty() {
        out.push(route_configuration(
            FALLBACK_CERT_ROUTE_CONFIG_NAME,
            fallback,
        ));
    }
    out
}

/// A route configuration with upstream's fixed settings: `x-request-start` added to every
/// request and the port ignored when matching hosts. Virtual hosts are sorted by name.
pub fn route_configuration(name: &str, mut virtual_hosts: Vec<VirtualHost>) -> RouteConfiguration {
    virtual_hosts.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.domains.cmp(&b.domains)));
    RouteConfiguration {
        name: name.to_string(),
        virtual_hosts,
        request_headers_to_add: vec![append_header("x-request-start", "t=%START_TIME(%s.%3f)%")],
        ignore_port_in_host_matching: true,
        ..Default::default()
    }
}

fn append_header(key: &str, value: &str) -> HeaderValueOption {
    HeaderValueOption {
        header: Some(HeaderValue {
            key: key.to_string(),
            value: value.to_string(),
            ..Default::default()
        }),
        append_action: HeaderAppendAction::AppendIfExistsOrAdd as i32,
        ..Default::default()
    }
}

/// The Envoy virtual host of a DAG virtual host, routes in match order; `None` without routes.
pub fn virtual_host(vh: &contour_dag::VirtualHost, opts: RouteOptions) -> Option<VirtualHost> {
    if vh.routes.is_empty() {
        return None;
    }
    let mut routes: Vec<&contour_dag::Route> = vh.routes.values().map(|r| &**r).collect();
    routes.sort_by(|a, b| route_cmp(a, b));
    Some(VirtualHost {
        name: virtual_host_name(&vh.fqdn),
        domains: vec![vh.fqdn.clone()],
        routes: routes
            .into_iter()
            .map(|r| vhost_route(r, &vh.fqdn, opts))
            .collect(),
        typed_per_filter_config: vhost_filter_configs(&vh.policies, &vh.fqdn),
        ..Default::default()
    })
}

/// [`route`] plus, for a forwarding route, the per-filter configuration of its policies (IP
/// filter, local rate limit), which needs the virtual host's name for stat prefixes.
pub fn vhost_route(r: &contour_dag::Route, fqdn: &str, opts: RouteOptions) -> Route {
    let mut out = route(r, opts);
    if matches!(&r.action, RouteAction::Forward(fwd) if !fwd.clusters.is_empty()) {
        out.typed_per_filter_config = route_filter_configs(&r.policies, fqdn);
    }
    out
}

/// One Envoy route: match, source metadata (when `opts` asks for it) and action; forwarding
/// routes also carry the route policies and header changes.
pub fn route(r: &contour_dag::Route, opts: RouteOptions) -> Route {
    let mut out = Route {
        r#match: Some(route_match(&r.path, &r.headers)),
        metadata: opts
            .source_metadata
            .then(|| route_metadata(&r.source))
            .flatten(),
        ..Default::default()
    };
    if let Some(m) = out.r#match.as_mut() {
        m.query_parameters = r
            .query_params
            .iter()
            .map(policies::query_parameter_matcher)
            .collect();
    }
    out.action = Some(match &r.action {
        RouteAction::Forward(fwd) if !fwd.clusters.is_empty() => {
            let p = &r.policy;
            policies::set_route_headers(
                &mut out,
                p.request_headers.as_deref(),
                p.response_headers.as_deref(),
            );
            forward_action(fwd, p, &r.policies.cookie_rewrites)
        }
        // A forward without clusters cannot be expressed; answer as upstream does for a route
        // without valid services.
        RouteAction::Forward(_) => direct_response_action(503, None),
        RouteAction::DirectResponse { status, body } => {
            direct_response_action(*status, body.as_deref())
        }
        RouteAction::Redirect(redirect) => policies::redirect_action(redirect),
        RouteAction::HttpsRedirect => https_redirect_action(),
    });
    out
}

/// Path and header conditions of a route; header matchers in [`header_cmp`] order.
pub fn route_match(path: &PathMatch, headers: &[HeaderMatch]) -> RouteMatch {
    let mut sorted: Vec<&HeaderMatch> = headers.iter().collect();
    sorted.sort_by(|a, b| header_cmp(a, b));
    RouteMatch {
        path_specifier: Some(path_specifier(path)),
        headers: sorted.into_iter().map(header_matcher).collect(),
        ..Default::default()
    }
}

/// Prefix → `prefix`; segment prefix → `path_separated_prefix` without trailing slashes (a bare
/// `/` stays a `prefix`, which matches every path); exact → `path`; regex → `safe_regex`
/// anchored with `^` as upstream (Envoy matches the whole path anyway; the anchor keeps RE2
/// programs small).
pub fn path_specifier(path: &PathMatch) -> route_match::PathSpecifier {
    use route_match::PathSpecifier as P;
    match path {
        PathMatch::Prefix(p) => P::Prefix(p.clone()),
        PathMatch::SegmentPrefix(p) => {
            let trimmed = p.trim_end_matches('/');
            if trimmed.is_empty() {
                P::Prefix("/".to_string())
            } else {
                P::PathSeparatedPrefix(trimmed.to_string())
            }
        }
        PathMatch::Exact(p) => P::Path(p.clone()),
        PathMatch::Regex(re) => P::SafeRegex(safe_regex(&format!("^{re}"))),
    }
}

/// A regex matcher with the bootstrap's default engine (RE2).
pub fn safe_regex(regex: &str) -> RegexMatcher {
    RegexMatcher {
        regex: regex.to_string(),
        ..Default::default()
    }
}

/// A header condition. `Not*` kinds invert the match; `treat_missing_header_as_empty` only
/// applies to inverted matches, as upstream.
pub fn header_matcher(h: &HeaderMatch) -> HeaderMatcher {
    use header_matcher::HeaderMatchSpecifier as S;
    use string_matcher::MatchPattern as M;
    let string = |pattern: M, ignore_case: bool| {
        S::StringMatch(StringMatcher {
            ignore_case,
            match_pattern: Some(pattern),
        })
    };
    let (spec, invert) = match &h.kind {
        HeaderMatchKind::Present => (S::PresentMatch(true), false),
        HeaderMatchKind::NotPresent => (S::PresentMatch(true), true),
        HeaderMatchKind::Exact(v) => (string(M::Exact(v.clone()), h.ignore_case), false),
        HeaderMatchKind::NotExact(v) => (string(M::Exact(v.clone()), h.ignore_case), true),
        HeaderMatchKind::Contains(v) => (string(M::Contains(v.clone()), h.ignore_case), false),
        HeaderMatchKind::NotContains(v) => (string(M::Contains(v.clone()), h.ignore_case), true),
        HeaderMatchKind::Regex(v) => (string(M::SafeRegex(safe_regex(v)), false), false),
    };
    HeaderMatcher {
        name: h.name.clone(),
        invert_match: invert,
        treat_missing_header_as_empty: invert && h.treat_missing_as_empty,
        header_match_specifier: Some(spec),
    }
}

/// `io.projectcontour.{kind,namespace,name}` under [`ROUTE_METADATA_NAMESPACE`]; empty parts
/// are left out, and no metadata at all when every part is empty.
pub fn route_metadata(source: &ObjectRef) -> Option<Metadata> {
    let fields: Vec<(String, Value)> = [
        ("io.projectcontour.kind", &source.kind),
        ("io.projectcontour.namespace", &source.namespace),
        ("io.projectcontour.name", &source.name),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| {
        let value = Value {
            kind: Some(value::Kind::StringValue(v.clone())),
        };
        (k.to_string(), value)
    })
    .collect();
    if fields.is_empty() {
        return None;
    }
    let fields = Struct {
        fields: det_map(fields),
    };
    Some(Metadata {
        filter_metadata: det_map([(ROUTE_METADATA_NAMESPACE.to_string(), fields)]),
        ..Default::default()
    })
}

/// `cluster` for a single plain cluster; `weighted_clusters` for several, or when service
/// header changes or cookie rewrites (of the route, `route_cookies`, or of a service) need
/// per-cluster configuration. The route's policies fill in the rest of the action.
pub fn forward_action(
    fwd: &Forward,
    policy: &contour_dag::RoutePolicy,
    route_cookies: &[CookieRewrite],
) -> route::Action {
    let specifier = match fwd.clusters.as_slice() {
        [only]
            if policies::is_simple_cluster(&fwd.clusters)
                && route_cookies.is_empty()
                && only.cookie_rewrites.is_empty() =>
        {
            route_action::ClusterSpecifier::Cluster(cluster_name(&only.cluster))
        }
        _ => {
            route_action::ClusterSpecifier::WeightedClusters(weighted_clusters(fwd, route_cookies))
        }
    };
    let mut ra = envoy_types::pb::envoy::config::route::v3::RouteAction {
        cluster_specifier: Some(specifier),
        ..Default::default()
    };
    policies::apply_route_policy(&mut ra, policy, fwd.mirror.as_deref());
    route::Action::Route(ra)
}

/// Weighted clusters sorted by name then weight. When every weight is zero, traffic is split
/// evenly (each weight becomes 1), as upstream. Each carries its cookie rewrites.
pub fn weighted_clusters(fwd: &Forward, route_cookies: &[CookieRewrite]) -> WeightedCluster {
    let all_zero = fwd.clusters.iter().all(|wc| wc.weight == 0);
    let mut clusters: Vec<weighted_cluster::ClusterWeight> = fwd
        .clusters
        .iter()
        .map(|wc| {
            let mut cw = weighted_cluster::ClusterWeight {
                name: cluster_name(&wc.cluster),
                weight: Some(u32v(if all_zero { 1 } else { wc.weight })),
                typed_per_filter_config: lua::cluster_filter_configs(
                    route_cookies,
                    &wc.cookie_rewrites,
                ),
                ..Default::default()
            };
            policies::set_cluster_weight_headers(&mut cw, wc);
            cw
        })
        .collect();
    clusters.sort_by(|a, b| {
        let w = |c: &weighted_cluster::ClusterWeight| c.weight.as_ref().map_or(0, |w| w.value);
        a.name.cmp(&b.name).then_with(|| w(a).cmp(&w(b)))
    });
    WeightedCluster {
        clusters,
        ..Default::default()
    }
}

/// 301 to the same host and path over https.
pub fn https_redirect_action() -> route::Action {
    route::Action::Redirect(RedirectAction {
        scheme_rewrite_specifier: Some(redirect_action::SchemeRewriteSpecifier::HttpsRedirect(
            true,
        )),
        ..Default::default()
    })
}

/// A direct response with a status and, when given, an inline body.
pub fn direct_response_action(status: u32, body: Option<&str>) -> route::Action {
    route::Action::DirectResponse(DirectResponseAction {
        status,
        body: body.filter(|b| !b.is_empty()).map(|b| DataSource {
            specifier: Some(data_source::Specifier::InlineString(b.to_string())),
            ..Default::default()
        }),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests;
