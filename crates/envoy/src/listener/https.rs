//! `ingress_https`: one filter chain per secure virtual host, matched on SNI, plus a
//! `fallback-certificate` chain for clients without (or with an unknown) SNI when a proxy asks
//! for it. The TLS inspector reads the SNI; certificates come over SDS.

use contour_dag::{ForwardClientCertificate, SecureVirtualHost, TcpProxy};
use envoy_types::pb::envoy::config::core::v3::{DataSource, data_source};
use envoy_types::pb::envoy::config::listener::v3::{
    Filter, FilterChain, FilterChainMatch, Listener, ListenerFilter, filter, listener_filter,
};
use envoy_types::pb::envoy::extensions::filters::http::lua::v3::Lua;
use envoy_types::pb::envoy::extensions::filters::listener::tls_inspector::v3::TlsInspector;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, HttpFilter, http_connection_manager, http_filter,
};
use envoy_types::pb::envoy::extensions::filters::network::tcp_proxy::v3::{
    TcpProxy as EnvoyTcpProxy, tcp_proxy,
};

use super::{file_access_log, hcm_filter, tcp_keepalive_socket_options};
use crate::auth::{alpn_protocols, downstream_tls_context, tls_transport_socket};
use crate::config::TranslateConfig;
use crate::names::{
    FALLBACK_CERT_FILTER_CHAIN_NAME, FALLBACK_CERT_ROUTE_CONFIG_NAME, HTTPS_LISTENER_NAME,
    cluster_name, https_route_config_name,
};
use crate::pb::{duration, socket_address, to_any};

pub const TLS_INSPECTOR: &str = "envoy.filters.listener.tls_inspector";
pub const LUA_FILTER: &str = "envoy.filters.http.lua";
pub const TCP_PROXY_FILTER: &str = "envoy.filters.network.tcp_proxy";
/// Upstream's TCP proxy idle timeout (9001 s).
pub const TCP_PROXY_IDLE_TIMEOUT_SECS: u64 = 9001;

/// Answers 421 when the request's host is not the TLS server name the connection was opened
/// for. A fixed script: it reads both names at run time and embeds no configuration value, so
/// nothing a user writes can become code. The host is lower-cased and a `:port` suffix is
/// dropped before comparing; the body quotes the host with Lua's `%q`.
pub const MISDIRECTED_REQUEST_LUA: &str = r#"
function envoy_on_request(request_handle)
  local sni = request_handle:streamInfo():requestedServerName()
  local authority = request_handle:headers():get(":authority")
  if sni == nil or sni == "" or authority == nil then
    return
  end
  local host = string.lower(authority)
  host = string.gsub(host, ":%d+$", "")
  if host ~= string.lower(sni) then
    request_handle:respond({[":status"] = "421"}, string.format("misdirected request to %q", host))
  end
end
"#;

/// The HTTPS listener, or `None` when the DAG listener has no secure virtual host.
pub fn https_listener(l: &contour_dag::Listener, cfg: &TranslateConfig) -> Option<Listener> {
    if l.secure_virtual_hosts.is_empty() {
        return None;
    }
    let mut chains: Vec<FilterChain> = l
        .secure_virtual_hosts
        .iter()
        .map(|svh| secure_filter_chain(svh, cfg))
        .collect();
    chains.extend(https_fallback_chain(l, cfg));
    // SNI chains sorted by name; the fallback chain (no server names) last.
    chains.sort_by_key(chain_key);
    let mut out = https_listener_shell(l);
    out.filter_chains = chains;
    Some(out)
}

/// The HTTPS listener without its filter chains.
pub fn https_listener_shell(l: &contour_dag::Listener) -> Listener {
    Listener {
        name: HTTPS_LISTENER_NAME.to_string(),
        address: Some(socket_address(&l.address, l.port)),
        socket_options: tcp_keepalive_socket_options(),
        listener_filters: vec![tls_inspector()],
        ..Default::default()
    }
}

/// The fallback certificate's chain, when a secure virtual host enables it.
pub fn https_fallback_chain(
    l: &contour_dag::Listener,
    cfg: &TranslateConfig,
) -> Option<FilterChain> {
    l.secure_virtual_hosts
        .iter()
        .find_map(|s| s.fallback_certificate.as_ref())
        .map(|secret| fallback_filter_chain(secret, cfg))
}

/// The order of the HTTPS listener's chains: by server names, the chain without names last.
pub fn chain_key(fc: &FilterChain) -> (bool, Vec<String>) {
    let names = fc
        .filter_chain_match
        .as_ref()
        .map(|m| m.server_names.clone())
        .unwrap_or_default();
    (names.is_empty(), names)
}

/// The TLS inspector listener filter (reads SNI and ALPN from the ClientHello).
pub fn tls_inspector() -> ListenerFilter {
    ListenerFilter {
        name: TLS_INSPECTOR.to_string(),
        config_type: Some(listener_filter::ConfigType::TypedConfig(to_any(
            &TlsInspector::default(),
        ))),
        ..Default::default()
    }
}

/// One secure virtual host's chain: matched on its server name (`*` matches any TLS), an HCM
/// on `https/<fqdn>` with the 421 filter first, or a TCP proxy; TLS terminated unless this is
/// passthrough.
pub fn secure_filter_chain(svh: &SecureVirtualHost, cfg: &TranslateConfig) -> FilterChain {
    let fqdn = svh.fqdn();
    let (filters, alpn) = match &svh.tcp_proxy {
        // No ALPN for TCP proxying: the backend's ServerHello decides.
        Some(tcp) => (vec![tcp_proxy_filter(tcp, cfg)], Vec::new()),
        None => {
            let mut hcm = secure_hcm(&https_route_config_name(fqdn), cfg);
            hcm.http_filters.insert(0, misdirected_request_filter());
            let forward = svh.client_validation.as_ref().and_then(|v| v.forward);
            set_forward_client_cert(&mut hcm, forward);
            (
                vec![hcm_filter(&hcm)],
                alpn_protocols(&cfg.default_http_versions),
            )
        }
    };
    let tls = svh.secret.as_ref().map(|secret| {
        let versions = Some((svh.min_tls_version, svh.max_tls_version));
        let ctx = downstream_tls_context(
            secret,
            versions,
            &cfg.tls,
            svh.client_validation.as_ref(),
            alpn,
        );
        tls_transport_socket(&ctx)
    });
    let filter_chain_match = if fqdn == "*" {
        FilterChainMatch {
            transport_protocol: "tls".to_string(),
            ..Default::default()
        }
    } else {
        FilterChainMatch {
            server_names: vec![fqdn.to_string()],
            ..Default::default()
        }
    };
    FilterChain {
        filter_chain_match: Some(filter_chain_match),
        filters,
        transport_socket: tls,
        ..Default::default()
    }
}

/// The chain for clients without a known SNI: the fallback certificate with the global TLS
/// versions and the aggregated `ingress_fallbackcert` routes, without the 421 filter.
pub fn fallback_filter_chain(secret: &contour_dag::Secret, cfg: &TranslateConfig) -> FilterChain {
    let hcm = secure_hcm(FALLBACK_CERT_ROUTE_CONFIG_NAME, cfg);
    let alpn = alpn_protocols(&cfg.default_http_versions);
    let ctx = downstream_tls_context(secret, None, &cfg.tls, None, alpn);
    FilterChain {
        name: FALLBACK_CERT_FILTER_CHAIN_NAME.to_string(),
        filter_chain_match: Some(FilterChainMatch {
            transport_protocol: "tls".to_string(),
            ..Default::default()
        }),
        filters: vec![hcm_filter(&hcm)],
        transport_socket: Some(tls_transport_socket(&ctx)),
        ..Default::default()
    }
}

fn secure_hcm(route_config_name: &str, cfg: &TranslateConfig) -> HttpConnectionManager {
    super::http_connection_manager(
        route_config_name,
        HTTPS_LISTENER_NAME,
        &cfg.https_access_log_path,
        cfg,
    )
}

/// The fixed 421 Lua filter ([`MISDIRECTED_REQUEST_LUA`]).
pub fn misdirected_request_filter() -> HttpFilter {
    let lua = Lua {
        default_source_code: Some(DataSource {
            specifier: Some(data_source::Specifier::InlineString(
                MISDIRECTED_REQUEST_LUA.to_string(),
            )),
            ..Default::default()
        }),
        ..Default::default()
    };
    HttpFilter {
        name: LUA_FILTER.to_string(),
        config_type: Some(http_filter::ConfigType::TypedConfig(to_any(&lua))),
        ..Default::default()
    }
}

/// `forwardClientCertificate`: replace any incoming XFCC with the chosen fields of the
/// verified client certificate (SANITIZE_SET). Without it, XFCC is stripped (SANITIZE).
pub fn set_forward_client_cert(
    hcm: &mut HttpConnectionManager,
    forward: Option<ForwardClientCertificate>,
) {
    use crate::pb::boolv;
    use http_connection_manager::{ForwardClientCertDetails, SetCurrentClientCertDetails};
    let Some(f) = forward else { return };
    hcm.forward_client_cert_details = ForwardClientCertDetails::SanitizeSet as i32;
    hcm.set_current_client_cert_details = Some(SetCurrentClientCertDetails {
        subject: Some(boolv(f.subject)),
        cert: f.cert,
        chain: f.chain,
        dns: f.dns,
        uri: f.uri,
        ..Default::default()
    });
}

/// A TCP proxy to the given clusters: zero-weight clusters are dropped unless all are zero
/// (then all get weight 1); idle timeout 9001 s; the HTTPS access log.
pub fn tcp_proxy_filter(proxy: &TcpProxy, cfg: &TranslateConfig) -> Filter {
    let nonzero: Vec<_> = proxy.clusters.iter().filter(|c| c.weight > 0).collect();
    let keep: Vec<_> = if nonzero.is_empty() {
        proxy.clusters.iter().collect()
    } else {
        nonzero
    };
    let specifier = match keep.as_slice() {
        [only] => tcp_proxy::ClusterSpecifier::Cluster(cluster_name(&only.cluster)),
        many => tcp_proxy::ClusterSpecifier::WeightedClusters(tcp_proxy::WeightedCluster {
            clusters: many
                .iter()
                .map(|c| tcp_proxy::weighted_cluster::ClusterWeight {
                    name: cluster_name(&c.cluster),
                    weight: c.weight.max(1),
                    ..Default::default()
                })
                .collect(),
        }),
    };
    let tcp = EnvoyTcpProxy {
        stat_prefix: HTTPS_LISTENER_NAME.to_string(),
        idle_timeout: Some(duration(std::time::Duration::from_secs(
            TCP_PROXY_IDLE_TIMEOUT_SECS,
        ))),
        access_log: file_access_log(&cfg.https_access_log_path),
        cluster_specifier: Some(specifier),
        ..Default::default()
    };
    Filter {
        name: TCP_PROXY_FILTER.to_string(),
        config_type: Some(filter::ConfigType::TypedConfig(to_any(&tcp))),
    }
}
