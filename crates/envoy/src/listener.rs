//! LDS: the dynamic `ingress_http` listener and its HTTP connection manager, plus the static
//! stats/health listener (see [`crate::stats`]).

use contour_dag::Dag;
use envoy_types::pb::envoy::config::core::v3::{
    Http1ProtocolOptions, Http2ProtocolOptions, HttpProtocolOptions, SocketOption,
    TypedExtensionConfig, socket_option,
};
use envoy_types::pb::envoy::config::listener::v3::{
    Filter, FilterChain, Listener, ListenerFilter, filter, listener, listener_filter,
};
use envoy_types::pb::envoy::extensions::compression::brotli::compressor::v3::Brotli;
use envoy_types::pb::envoy::extensions::compression::gzip::compressor::v3::Gzip;
use envoy_types::pb::envoy::extensions::compression::zstd::compressor::v3::Zstd;
use envoy_types::pb::envoy::extensions::filters::http::compressor::v3::{Compressor, compressor};
use envoy_types::pb::envoy::extensions::filters::http::cors::v3::Cors;
use envoy_types::pb::envoy::extensions::filters::http::grpc_stats::v3::FilterConfig as GrpcStats;
use envoy_types::pb::envoy::extensions::filters::http::grpc_web::v3::GrpcWeb;
use envoy_types::pb::envoy::extensions::filters::http::local_ratelimit::v3::LocalRateLimit;
use envoy_types::pb::envoy::extensions::filters::http::rbac::v3::Rbac;
use envoy_types::pb::envoy::extensions::filters::http::router::v3::Router;
use envoy_types::pb::envoy::extensions::filters::listener::proxy_protocol::v3::ProxyProtocol;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, HttpFilter, Rds, http_connection_manager, http_filter,
};

mod https;

pub use https::{
    MISDIRECTED_REQUEST_LUA, chain_key, fallback_filter_chain, https_fallback_chain,
    https_listener, https_listener_shell, misdirected_request_filter, secure_filter_chain,
    set_forward_client_cert, tcp_proxy_filter, tls_inspector,
};

use crate::config::{
    Compression, HttpVersion, ServerHeaderTransformation, TimeoutSetting, TranslateConfig,
};
use crate::filters::lua::lua_filter;
use crate::names::{HTTP_LISTENER_NAME, HTTPS_LISTENER_NAME};
use crate::pb::{boolv, contour_config_source, duration, socket_address, timeout, to_any, u32v};
use crate::stats::static_listeners;

pub use crate::accesslog::FILE_ACCESS_LOG;

/// Well-known filter names, as upstream spells them.
pub const HTTP_CONNECTION_MANAGER: &str = "envoy.filters.network.http_connection_manager";
pub const PROXY_PROTOCOL_FILTER: &str = "envoy.filters.listener.proxy_protocol";
pub const COMPRESSOR_FILTER: &str = "envoy.filters.http.compressor";
pub const GRPC_WEB_FILTER: &str = "envoy.filters.http.grpc_web";
pub const GRPC_STATS_FILTER: &str = "envoy.filters.http.grpc_stats";
pub const CORS_FILTER: &str = "envoy.filters.http.cors";
pub const LOCAL_RATELIMIT_FILTER: &str = "envoy.filters.http.local_ratelimit";
pub const LUA_FILTER: &str = "envoy.filters.http.lua";
pub const RBAC_FILTER: &str = "envoy.filters.http.rbac";
/// Upstream names the router of the default chain just `router`...
pub const ROUTER_FILTER: &str = "router";
/// ...and the router of the static listeners by its well-known name.
pub const ROUTER_FILTER_WELL_KNOWN: &str = "envoy.filters.http.router";

/// Linux socket option constants (Envoy runs on Linux whatever the control plane runs on).
const SOL_SOCKET: i64 = 1;
const SO_KEEPALIVE: i64 = 9;
const IPPROTO_TCP: i64 = 6;
const TCP_KEEPIDLE: i64 = 4;
const TCP_KEEPINTVL: i64 = 5;
const TCP_KEEPCNT: i64 = 6;
const IPPROTO_IP: i64 = 0;
const IP_TOS: i64 = 1;
const IPPROTO_IPV6: i64 = 41;
const IPV6_TCLASS: i64 = 67;

/// Content types the gzip compressor acts on (upstream's list, in upstream's order).
const COMPRESSIBLE_CONTENT_TYPES: &[&str] = &[
    "text/html",
    "text/plain",
    "text/css",
    "application/javascript",
    "application/x-javascript",
    "text/javascript",
    "text/x-javascript",
    "text/ecmascript",
    "text/js",
    "text/jscript",
    "text/x-js",
    "application/ecmascript",
    "application/x-json",
    "application/xml",
    "application/json",
    "image/svg+xml",
    "text/xml",
    "application/xhtml+xml",
    "application/grpc-web",
    "application/grpc-web+proto",
    "application/grpc-web+json",
    "application/grpc-web+thrift",
    "application/grpc-web-text",
    "application/grpc-web-text+proto",
    "application/grpc-web-text+thrift",
];

/// Every listener for the DAG, sorted by name: `ingress_http` when the DAG has an HTTP listener
/// with virtual hosts, and always the static listeners (stats, health, admin).
pub fn listeners(dag: &Dag, cfg: &TranslateConfig) -> Vec<Listener> {
    let mut out = Vec::new();
    if let Some(l) = dag.listeners.get(HTTP_LISTENER_NAME)
        && !l.virtual_hosts.is_empty()
    {
        out.push(http_listener(&l.name, &l.address, l.port, cfg));
    }
    if let Some(l) = dag.listeners.get(HTTPS_LISTENER_NAME) {
        out.extend(https_listener(l, cfg).map(|mut l| {
            apply_ingress_settings(&mut l, cfg);
            l
        }));
    }
    out.extend(static_listeners(cfg));
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// A plain HTTP listener: one filter chain holding an HCM whose RDS name and stat prefix are
/// the listener name.
///
/// With route scopes (see [`crate::scopes`]) the HCM selects one of them per request instead,
/// and its first HTTP filter sets the scope key.
pub fn http_listener(name: &str, address: &str, port: u16, cfg: &TranslateConfig) -> Listener {
    let mut hcm = http_connection_manager(name, name, &cfg.http_access_log_path, cfg);
    if let Some(n) = crate::scopes::scopes(cfg) {
        hcm.route_specifier = Some(http_connection_manager::RouteSpecifier::ScopedRoutes(
            crate::scopes::scoped_routes(),
        ));
        let scope = http_filter(
            crate::scopes::SCOPE_FILTER,
            to_any(&crate::scopes::scope_filter(n)),
        );
        hcm.http_filters.insert(0, scope);
    }
    let mut l = ingress_listener(name, address, port, cfg);
    l.filter_chains = vec![FilterChain {
        filters: vec![hcm_filter(&hcm)],
        ..Default::default()
    }];
    l
}

/// An ingress listener without filter chains, with the shared settings applied.
pub fn ingress_listener(name: &str, address: &str, port: u16, cfg: &TranslateConfig) -> Listener {
    let mut l = Listener {
        name: name.to_string(),
        address: Some(socket_address(address, port)),
        socket_options: tcp_keepalive_socket_options(),
        ..Default::default()
    };
    apply_ingress_settings(&mut l, cfg);
    l
}

/// What every ingress listener shares (`listener.*`, `--use-proxy-protocol`): TOS and traffic
/// class socket options, buffer limit, PROXY protocol (first, before any TLS inspector),
/// connection balancing and accept batch size.
pub fn apply_ingress_settings(l: &mut Listener, cfg: &TranslateConfig) {
    let ls = &cfg.listener;
    l.socket_options
        .extend(ip_socket_options(ls.tos, ls.traffic_class));
    let mut filters = proxy_protocol_filter(cfg.use_proxy_protocol);
    filters.append(&mut l.listener_filters);
    l.listener_filters = filters;
    l.per_connection_buffer_limit_bytes = ls.per_connection_buffer_limit_bytes.map(u32v);
    l.connection_balance_config =
        ls.connection_balancer_exact
            .then(|| listener::ConnectionBalanceConfig {
                balance_type: Some(
                    listener::connection_balance_config::BalanceType::ExactBalance(
                        Default::default(),
                    ),
                ),
            });
    l.max_connections_to_accept_per_socket_event =
        ls.max_connections_to_accept_per_socket_event.map(u32v);
}

/// The `proxy_protocol` listener filter when enabled.
pub fn proxy_protocol_filter(enabled: bool) -> Vec<ListenerFilter> {
    if !enabled {
        return Vec::new();
    }
    vec![ListenerFilter {
        name: PROXY_PROTOCOL_FILTER.to_string(),
        config_type: Some(listener_filter::ConfigType::TypedConfig(to_any(
            &ProxyProtocol::default(),
        ))),
        ..Default::default()
    }]
}

/// IPv4 TOS and IPv6 traffic class on listening sockets; 0 leaves a value unset.
pub fn ip_socket_options(tos: u8, traffic_class: u8) -> Vec<SocketOption> {
    let opt = |description: &str, level: i64, name: i64, value: u8| SocketOption {
        description: description.to_string(),
        level,
        name,
        value: Some(socket_option::Value::IntValue(i64::from(value))),
        state: socket_option::SocketState::StateListening as i32,
        ..Default::default()
    };
    let mut out = Vec::new();
    if tos != 0 {
        out.push(opt("Set IPv4 TOS field", IPPROTO_IP, IP_TOS, tos));
    }
    if traffic_class != 0 {
        out.push(opt(
            "Set IPv6 Traffic Class field",
            IPPROTO_IPV6,
            IPV6_TCLASS,
            traffic_class,
        ));
    }
    out
}

/// Wraps an HCM into the network filter a filter chain carries.
pub fn hcm_filter(hcm: &HttpConnectionManager) -> Filter {
    Filter {
        name: HTTP_CONNECTION_MANAGER.to_string(),
        config_type: Some(filter::ConfigType::TypedConfig(to_any(hcm))),
    }
}

/// The HCM of an ingress listener with upstream's defaults: RDS from the contour gRPC config
/// source, remote address, path normalisation, HTTP/1.0, idle timeout, access log and the
/// default HTTP filter chain.
pub fn http_connection_manager(
    route_config_name: &str,
    stat_prefix: &str,
    access_log_path: &str,
    cfg: &TranslateConfig,
) -> HttpConnectionManager {
    HttpConnectionManager {
        codec_type: codec_type(&cfg.default_http_versions) as i32,
        stat_prefix: stat_prefix.to_string(),
        route_specifier: Some(http_connection_manager::RouteSpecifier::Rds(Rds {
            route_config_name: route_config_name.to_string(),
            config_source: Some(contour_config_source()),
        })),
        http_filters: default_http_filters(cfg),
        common_http_protocol_options: Some(HttpProtocolOptions {
            idle_timeout: timeout(cfg.connection_idle_timeout),
            // Unlike the other timeouts, an explicit 0 would not disable it: leave it out.
            max_connection_duration: match cfg.timeouts.max_connection_duration {
                TimeoutSetting::Duration(d) => Some(duration(d)),
                _ => None,
            },
            max_requests_per_connection: cfg.listener.max_requests_per_connection.map(u32v),
            ..Default::default()
        }),
        http_protocol_options: Some(Http1ProtocolOptions {
            accept_http_10: true,
            allow_chunked_length: cfg.allow_chunked_length,
            ..Default::default()
        }),
        http2_protocol_options: cfg.listener.http2_max_concurrent_streams.map(|n| {
            Http2ProtocolOptions {
                max_concurrent_streams: Some(u32v(n)),
                ..Default::default()
            }
        }),
        use_remote_address: Some(boolv(true)),
        xff_num_trusted_hops: cfg.xff_num_trusted_hops,
        strip_trailing_host_dot: cfg.strip_trailing_host_dot,
        normalize_path: Some(boolv(true)),
        preserve_external_request_id: true,
        merge_slashes: cfg.merge_slashes,
        server_header_transformation: server_header_transformation(cfg.server_header_transformation)
            as i32,
        request_timeout: timeout(cfg.timeouts.request),
        stream_idle_timeout: timeout(cfg.timeouts.stream_idle),
        drain_timeout: timeout(cfg.timeouts.connection_shutdown_grace_period),
        delayed_close_timeout: timeout(cfg.timeouts.delayed_close),
        access_log: crate::accesslog::access_logs(access_log_path, &cfg.access_log),
        ..Default::default()
    }
}

/// The HCM codec for `default-http-versions`: exactly one version pins the codec; both (or
/// none configured) auto-detect, ALPN deciding on TLS.
pub fn codec_type(versions: &[HttpVersion]) -> http_connection_manager::CodecType {
    use http_connection_manager::CodecType;
    let h1 = versions.contains(&HttpVersion::Http1);
    let h2 = versions.contains(&HttpVersion::Http2);
    match (h1, h2) {
        (true, false) => CodecType::Http1,
        (false, true) => CodecType::Http2,
        _ => CodecType::Auto,
    }
}

fn server_header_transformation(
    t: ServerHeaderTransformation,
) -> http_connection_manager::ServerHeaderTransformation {
    use http_connection_manager::ServerHeaderTransformation as S;
    match t {
        ServerHeaderTransformation::Overwrite => S::Overwrite,
        ServerHeaderTransformation::AppendIfAbsent => S::AppendIfAbsent,
        ServerHeaderTransformation::PassThrough => S::PassThrough,
    }
}

/// Upstream's default HTTP filters in order, router last. The Lua filter only carries the
/// fixed cookie-rewrite script, which runs on routes that select it (see [`crate::filters::lua`]).
pub fn default_http_filters(cfg: &TranslateConfig) -> Vec<HttpFilter> {
    let mut filters = Vec::new();
    if let Some(c) = compressor_filter(cfg.compression) {
        filters.push(http_filter(COMPRESSOR_FILTER, to_any(&c)));
    }
    filters.push(http_filter(GRPC_WEB_FILTER, to_any(&GrpcWeb::default())));
    let grpc_stats = GrpcStats {
        emit_filter_state: true,
        enable_upstream_stats: true,
        ..Default::default()
    };
    filters.push(http_filter(GRPC_STATS_FILTER, to_any(&grpc_stats)));
    filters.push(http_filter(CORS_FILTER, to_any(&Cors::default())));
    let local_rl = LocalRateLimit {
        stat_prefix: "http".to_string(),
        ..Default::default()
    };
    filters.push(http_filter(LOCAL_RATELIMIT_FILTER, to_any(&local_rl)));
    filters.push(http_filter(LUA_FILTER, to_any(&lua_filter())));
    filters.push(http_filter(RBAC_FILTER, to_any(&Rbac::default())));
    filters.push(router_filter(ROUTER_FILTER));
    filters
}

/// The router filter under the given name.
pub fn router_filter(name: &str) -> HttpFilter {
    http_filter(name, to_any(&Router::default()))
}

fn http_filter(name: &str, config: envoy_types::pb::google::protobuf::Any) -> HttpFilter {
    HttpFilter {
        name: name.to_string(),
        config_type: Some(http_filter::ConfigType::TypedConfig(config)),
        ..Default::default()
    }
}

/// The compressor filter for an algorithm (`None` when disabled): the library named after the
/// algorithm with Envoy's default settings, on upstream's content types.
#[allow(deprecated)] // `content_type` is what upstream sets; the matcher form is newer.
pub fn compressor_filter(algorithm: Compression) -> Option<Compressor> {
    let (name, library) = match algorithm {
        Compression::Disabled => return None,
        Compression::Gzip => ("gzip", to_any(&Gzip::default())),
        Compression::Brotli => ("brotli", to_any(&Brotli::default())),
        Compression::Zstd => ("zstd", to_any(&Zstd::default())),
    };
    Some(Compressor {
        compressor_library: Some(TypedExtensionConfig {
            name: name.to_string(),
            typed_config: Some(library),
        }),
        response_direction_config: Some(compressor::ResponseDirectionConfig {
            common_config: Some(compressor::CommonDirectionConfig {
                content_type: COMPRESSIBLE_CONTENT_TYPES
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// A file access log in Envoy's default format.
pub fn file_access_log(
    path: &str,
) -> Vec<envoy_types::pb::envoy::config::accesslog::v3::AccessLog> {
    crate::accesslog::access_logs(path, &Default::default())
}

/// TCP keepalive on listening sockets: enabled, idle 45s, interval 5s, 9 probes (upstream).
pub fn tcp_keepalive_socket_options() -> Vec<SocketOption> {
    let opt = |description: &str, level: i64, name: i64, value: i64| SocketOption {
        description: description.to_string(),
        level,
        name,
        value: Some(socket_option::Value::IntValue(value)),
        state: socket_option::SocketState::StateListening as i32,
        ..Default::default()
    };
    vec![
        opt("Enable TCP keep-alive", SOL_SOCKET, SO_KEEPALIVE, 1),
        opt(
            "TCP keep-alive initial idle time",
            IPPROTO_TCP,
            TCP_KEEPIDLE,
            45,
        ),
        opt(
            "TCP keep-alive time between probes",
            IPPROTO_TCP,
            TCP_KEEPINTVL,
            5,
        ),
        opt("TCP keep-alive probe count", IPPROTO_TCP, TCP_KEEPCNT, 9),
    ]
}

#[cfg(test)]
mod tests;
