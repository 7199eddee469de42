//! The static listeners exposing Envoy's admin interface read-only, with GET-only exact routes
//! to the `envoy-admin` bootstrap cluster: `stats-health` (metrics and `/ready` on one address),
//! or `stats` and `health` when they differ or metrics use TLS; `health-om-enforced`; and
//! `envoy-admin` on 127.0.0.1.

use envoy_types::pb::envoy::config::core::v3::{DataSource, TransportSocket, data_source};
use envoy_types::pb::envoy::config::listener::v3::{FilterChain, Listener};
use envoy_types::pb::envoy::config::route::v3::{
    HeaderMatcher, Route, RouteAction, RouteConfiguration, RouteMatch, VirtualHost, header_matcher,
    route, route_action, route_match,
};
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, http_connection_manager,
};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    CertificateValidationContext, CommonTlsContext, DownstreamTlsContext, SdsSecretConfig, Secret,
    TlsCertificate, TlsParameters, common_tls_context, secret, tls_parameters,
};
use envoy_types::pb::envoy::r#type::matcher::v3::{StringMatcher, string_matcher};

use crate::config::{MetricsTls, TranslateConfig};
use crate::listener::{
    ROUTER_FILTER_WELL_KNOWN, hcm_filter, router_filter, tcp_keepalive_socket_options,
};
use crate::names::{ENVOY_ADMIN_CLUSTER_NAME, STATS_HEALTH_LISTENER_NAME, STATS_STAT_PREFIX};
use crate::pb::{boolv, contour_config_source, socket_address, to_any};

/// Admin paths the combined stats/health listener serves.
pub const STATS_HEALTH_PATHS: &[&str] = &["/ready", "/stats", "/stats/prometheus"];
/// Admin paths of the `stats` listener.
pub const STATS_PATHS: &[&str] = &["/stats", "/stats/prometheus"];
/// Admin paths of the `health` and `health-om-enforced` listeners.
pub const HEALTH_PATHS: &[&str] = &["/ready"];
/// Read-only admin paths of the `envoy-admin` listener.
pub const ADMIN_PATHS: &[&str] = &[
    "/certs",
    "/clusters",
    "/listeners",
    "/config_dump",
    "/memory",
    "/ready",
    "/runtime",
    "/server_info",
    "/stats",
    "/stats/prometheus",
    "/stats/recentlookups",
];
/// Upstream's listener and SDS names.
pub const STATS_LISTENER_NAME: &str = "stats";
pub const HEALTH_LISTENER_NAME: &str = "health";
pub const OM_ENFORCED_HEALTH_LISTENER_NAME: &str = "health-om-enforced";
pub const ENVOY_ADMIN_LISTENER_NAME: &str = "envoy-admin";
pub const METRICS_CERT_SECRET_NAME: &str = "metrics-tls-certificate";
pub const METRICS_CA_SECRET_NAME: &str = "metrics-ca-certificate";

/// Every static listener the configuration asks for.
pub fn static_listeners(cfg: &TranslateConfig) -> Vec<Listener> {
    let metrics = (cfg.stats_address.as_str(), cfg.stats_port);
    let health = (cfg.health_address.as_str(), cfg.health_port);
    let mut out = match &cfg.metrics_tls {
        Some(tls) => vec![
            admin_listener(STATS_LISTENER_NAME, metrics, STATS_PATHS, Some(tls)),
            admin_listener(HEALTH_LISTENER_NAME, health, HEALTH_PATHS, None),
        ],
        None if metrics == health => vec![stats_health_listener(cfg)],
        None => vec![
            admin_listener(STATS_LISTENER_NAME, metrics, STATS_PATHS, None),
            admin_listener(HEALTH_LISTENER_NAME, health, HEALTH_PATHS, None),
        ],
    };
    if let Some((address, port)) = &cfg.om_enforced_health {
        let mut l = admin_listener(
            OM_ENFORCED_HEALTH_LISTENER_NAME,
            (address, *port),
            HEALTH_PATHS,
            None,
        );
        // The one static listener subject to the global connection limit.
        l.ignore_global_conn_limit = false;
        out.push(l);
    }
    if cfg.admin_port != 0 {
        let mut l = admin_listener(
            ENVOY_ADMIN_LISTENER_NAME,
            ("127.0.0.1", cfg.admin_port),
            ADMIN_PATHS,
            None,
        );
        // Upstream's one static listener with its own stat prefix.
        l.filter_chains = vec![FilterChain {
            filters: vec![hcm_filter(&admin_hcm(
                ENVOY_ADMIN_LISTENER_NAME,
                ADMIN_PATHS,
            ))],
            ..Default::default()
        }];
        out.push(l);
    }
    out
}

/// `stats-health` on the configured stats address and port.
pub fn stats_health_listener(cfg: &TranslateConfig) -> Listener {
    admin_listener(
        STATS_HEALTH_LISTENER_NAME,
        (&cfg.stats_address, cfg.stats_port),
        STATS_HEALTH_PATHS,
        None,
    )
}

/// A static listener routing `paths` to the admin interface, with TLS when `tls` is given.
pub fn admin_listener(
    name: &str,
    (address, port): (&str, u16),
    paths: &[&str],
    tls: Option<&MetricsTls>,
) -> Listener {
    let hcm = admin_hcm(STATS_STAT_PREFIX, paths);
    Listener {
        name: name.to_string(),
        address: Some(socket_address(address, port)),
        socket_options: tcp_keepalive_socket_options(),
        filter_chains: vec![FilterChain {
            filters: vec![hcm_filter(&hcm)],
            transport_socket: tls.map(metrics_transport_socket),
            ..Default::default()
        }],
        ignore_global_conn_limit: true,
        ..Default::default()
    }
}

fn admin_hcm(stat_prefix: &str, paths: &[&str]) -> HttpConnectionManager {
    HttpConnectionManager {
        stat_prefix: stat_prefix.to_string(),
        route_specifier: Some(http_connection_manager::RouteSpecifier::RouteConfig(
            admin_route_config(paths),
        )),
        http_filters: vec![router_filter(ROUTER_FILTER_WELL_KNOWN)],
        normalize_path: Some(boolv(true)),
        ..Default::default()
    }
}

/// TLS 1.3 with the certificate (and client CA, when set) from SDS secrets Contour serves.
fn metrics_transport_socket(tls: &MetricsTls) -> TransportSocket {
    let sds = |name: &str| SdsSecretConfig {
        name: name.to_string(),
        sds_config: Some(contour_config_source()),
    };
    let v13 = tls_parameters::TlsProtocol::TlSv13 as i32;
    let mut common = CommonTlsContext {
        tls_params: Some(TlsParameters {
            tls_minimum_protocol_version: v13,
            tls_maximum_protocol_version: v13,
            ..Default::default()
        }),
        tls_certificate_sds_secret_configs: vec![sds(METRICS_CERT_SECRET_NAME)],
        ..Default::default()
    };
    let client_validation = !tls.ca_file.is_empty();
    if client_validation {
        common.validation_context_type = Some(
            common_tls_context::ValidationContextType::ValidationContextSdsSecretConfig(sds(
                METRICS_CA_SECRET_NAME,
            )),
        );
    }
    let ctx = DownstreamTlsContext {
        common_tls_context: Some(common),
        require_client_certificate: client_validation.then(|| boolv(true)),
        ..Default::default()
    };
    TransportSocket {
        name: "envoy.transport_sockets.tls".to_string(),
        config_type: Some(
            envoy_types::pb::envoy::config::core::v3::transport_socket::ConfigType::TypedConfig(
                to_any(&ctx),
            ),
        ),
    }
}

/// The SDS secrets of the metrics listener: file paths Envoy reads (and watches) itself.
pub fn stats_secrets(cfg: &TranslateConfig) -> Vec<Secret> {
    let Some(tls) = &cfg.metrics_tls else {
        return Vec::new();
    };
    let file = |path: &str| DataSource {
        specifier: Some(data_source::Specifier::Filename(path.to_string())),
        ..Default::default()
    };
    let mut out = vec![Secret {
        name: METRICS_CERT_SECRET_NAME.to_string(),
        r#type: Some(secret::Type::TlsCertificate(TlsCertificate {
            certificate_chain: Some(file(&tls.cert_file)),
            private_key: Some(file(&tls.key_file)),
            ..Default::default()
        })),
    }];
    if !tls.ca_file.is_empty() {
        out.push(Secret {
            name: METRICS_CA_SECRET_NAME.to_string(),
            r#type: Some(secret::Type::ValidationContext(
                CertificateValidationContext {
                    trusted_ca: Some(file(&tls.ca_file)),
                    ..Default::default()
                },
            )),
        });
    }
    out
}

/// An inline route configuration: one `backend` virtual host for `*` with a GET-only exact
/// route per path to `envoy-admin`.
pub fn admin_route_config(paths: &[&str]) -> RouteConfiguration {
    let routes = paths.iter().map(|p| admin_route(p)).collect();
    RouteConfiguration {
        virtual_hosts: vec![VirtualHost {
            name: "backend".to_string(),
            domains: vec!["*".to_string()],
            routes,
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn admin_route(path: &str) -> Route {
    let get_only = HeaderMatcher {
        name: ":method".to_string(),
        header_match_specifier: Some(header_matcher::HeaderMatchSpecifier::StringMatch(
            StringMatcher {
                ignore_case: true,
                match_pattern: Some(string_matcher::MatchPattern::Exact("GET".to_string())),
            },
        )),
        ..Default::default()
    };
    Route {
        r#match: Some(RouteMatch {
            path_specifier: Some(route_match::PathSpecifier::Path(path.to_string())),
            headers: vec![get_only],
            ..Default::default()
        }),
        action: Some(route::Action::Route(RouteAction {
            cluster_specifier: Some(route_action::ClusterSpecifier::Cluster(
                ENVOY_ADMIN_CLUSTER_NAME.to_string(),
            )),
            ..Default::default()
        })),
        ..Default::default()
    }
}
