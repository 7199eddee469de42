//! LDS: the dynamic `ingress_http` listener and its HTTP connection manager, plus the static
//! stats/health listener (see [`crate::stats`]).

use contour_dag::Dag;
use envoy_types::pb::envoy::config::accesslog::v3::{AccessLog, access_log};
use envoy_types::pb::envoy::config::core::v3::{
    Http1ProtocolOptions, HttpProtocolOptions, SocketOption, TypedExtensionConfig, socket_option,
};
use envoy_types::pb::envoy::config::listener::v3::{Filter, FilterChain, Listener, filter};
use envoy_types::pb::envoy::extensions::access_loggers::file::v3::FileAccessLog;
use envoy_types::pb::envoy::extensions::compression::gzip::compressor::v3::Gzip;
use envoy_types::pb::envoy::extensions::filters::http::compressor::v3::{Compressor, compressor};
use envoy_types::pb::envoy::extensions::filters::http::cors::v3::Cors;
use envoy_types::pb::envoy::extensions::filters::http::grpc_stats::v3::FilterConfig as GrpcStats;
use envoy_types::pb::envoy::extensions::filters::http::grpc_web::v3::GrpcWeb;
use envoy_types::pb::envoy::extensions::filters::http::local_ratelimit::v3::LocalRateLimit;
use envoy_types::pb::envoy::extensions::filters::http::rbac::v3::Rbac;
use envoy_types::pb::envoy::extensions::filters::http::router::v3::Router;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, HttpFilter, Rds, http_connection_manager, http_filter,
};

mod https;

pub use https::{
    MISDIRECTED_REQUEST_LUA, fallback_filter_chain, https_listener, misdirected_request_filter,
    secure_filter_chain, set_forward_client_cert, tcp_proxy_filter, tls_inspector,
};

use crate::config::{Compression, HttpVersion, TranslateConfig};
use crate::filters::lua::lua_filter;
use crate::names::{HTTP_LISTENER_NAME, HTTPS_LISTENER_NAME};
use crate::pb::{boolv, contour_config_source, duration, socket_address, to_any};
use crate::stats::stats_health_listener;

/// Well-known filter names, as upstream spells them.
pub const HTTP_CONNECTION_MANAGER: &str = "envoy.filters.network.http_connection_manager";
pub const FILE_ACCESS_LOG: &str = "envoy.access_loggers.file";
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
/// with virtual hosts, and always the static stats/health listener.
pub fn listeners(dag: &Dag, cfg: &TranslateConfig) -> Vec<Listener> {
    let mut out = Vec::new();
    if let Some(l) = dag.listeners.get(HTTP_LISTENER_NAME)
        && !l.virtual_hosts.is_empty()
    {
        out.push(http_listener(&l.name, &l.address, l.port, cfg));
    }
    if let Some(l) = dag.listeners.get(HTTPS_LISTENER_NAME) {
        out.extend(https_listener(l, cfg));
    }
    out.push(stats_health_listener(cfg));
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// A plain HTTP listener: one filter chain holding an HCM whose RDS name and stat prefix are
/// the listener name.
pub fn http_listener(name: &str, address: &str, port: u16, cfg: &TranslateConfig) -> Listener {
    let hcm = http_connection_manager(name, name, &cfg.http_access_log_path, cfg);
    Listener {
        name: name.to_string(),
        address: Some(socket_address(address, port)),
        socket_options: tcp_keepalive_socket_options(),
        filter_chains: vec![FilterChain {
            filters: vec![hcm_filter(&hcm)],
            ..Default::default()
        }],
        ..Default::default()
    }
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
            idle_timeout: cfg.connection_idle_timeout.map(duration),
            ..Default::default()
        }),
        http_protocol_options: Some(Http1ProtocolOptions {
            accept_http_10: true,
            allow_chunked_length: cfg.allow_chunked_length,
            ..Default::default()
        }),
        use_remote_address: Some(boolv(true)),
        xff_num_trusted_hops: cfg.xff_num_trusted_hops,
        normalize_path: Some(boolv(true)),
        preserve_external_request_id: true,
        merge_slashes: cfg.merge_slashes,
        access_log: file_access_log(access_log_path),
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

/// Upstream's default HTTP filters in order, router last. The Lua filter only carries the
/// fixed cookie-rewrite script, which runs on routes that select it (see [`crate::filters::lua`]).
pub fn default_http_filters(cfg: &TranslateConfig) -> Vec<HttpFilter> {
    let mut filters = Vec::new();
    if cfg.compression == Compression::Gzip {
        filters.push(http_filter(COMPRESSOR_FILTER, to_any(&gzip_compressor())));
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

#[allow(deprecated)] // `content_type` is what upstream sets; the matcher form is newer.
fn gzip_compressor() -> Compressor {
    Compressor {
        compressor_library: Some(TypedExtensionConfig {
            name: "gzip".to_string(),
            typed_config: Some(to_any(&Gzip::default())),
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
    }
}

/// A file access log in Envoy's default format.
pub fn file_access_log(path: &str) -> Vec<AccessLog> {
    let file = FileAccessLog {
        path: path.to_string(),
        ..Default::default()
    };
    vec![AccessLog {
        name: FILE_ACCESS_LOG.to_string(),
        config_type: Some(access_log::ConfigType::TypedConfig(to_any(&file))),
        ..Default::default()
    }]
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
