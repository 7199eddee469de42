//! Printing discovery responses for a human: each resource decoded by its type and shown in
//! Rust's debug notation, with nested `Any` configurations (HTTP connection manager, TLS
//! contexts, filters...) decoded in place and inline bytes shown as text when they are text.

use std::io::Write;
use std::sync::LazyLock;

use envoy_types::pb::envoy::service::discovery::v3::{DeltaDiscoveryResponse, DiscoveryResponse};
use envoy_types::pb::google::protobuf::Any;
use prost::{Message, Name};
use regex::{Captures, Regex};

pub fn sotw(resp: &DiscoveryResponse, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "--- version_info: {:?} nonce: {:?} type_url: {:?} resources: {}",
        resp.version_info,
        resp.nonce,
        resp.type_url,
        resp.resources.len()
    )?;
    for any in &resp.resources {
        writeln!(out, "{}", describe(any))?;
    }
    out.flush()
}

pub fn delta(resp: &DeltaDiscoveryResponse, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "--- system_version_info: {:?} nonce: {:?} type_url: {:?} resources: {} removed: {:?}",
        resp.system_version_info,
        resp.nonce,
        resp.type_url,
        resp.resources.len(),
        resp.removed_resources
    )?;
    for r in &resp.resources {
        writeln!(out, "# {} (version {})", r.name, r.version)?;
        if let Some(any) = &r.resource {
            writeln!(out, "{}", describe(any))?;
        }
    }
    out.flush()
}

/// One resource, decoded when its type is known; fields at their default value are left out,
/// as protobuf's JSON form does.
pub fn describe(any: &Any) -> String {
    let text = decode(&any.type_url, &any.value)
        .unwrap_or_else(|| format!("{} ({} bytes)", any.type_url, any.value.len()));
    drop_defaults(&expand(&text))
}

/// A field line whose value is its type's default.
static DEFAULT_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*[a-z_#0-9]+: (None|\[\]|\{\}|""|0|false),$"#).expect("regex")
});

fn drop_defaults(text: &str) -> String {
    text.lines()
        .filter(|line| !DEFAULT_FIELD.is_match(line))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Decodes the types Contour sends, top level and nested.
fn decode(type_url: &str, bytes: &[u8]) -> Option<String> {
    macro_rules! known {
        ($($t:ty),* $(,)?) => {
            $(if type_url == <$t>::type_url() {
                return Some(match <$t>::decode(bytes) {
                    Ok(m) => format!("{m:#?}"),
                    Err(e) => format!("{type_url}: undecodable ({e})"),
                });
            })*
        };
    }
    use envoy_types::pb::envoy::config::{cluster, endpoint, listener, route};
    use envoy_types::pb::envoy::extensions::{filters, transport_sockets, upstreams};
    known!(
        listener::v3::Listener,
        route::v3::RouteConfiguration,
        cluster::v3::Cluster,
        endpoint::v3::ClusterLoadAssignment,
        transport_sockets::tls::v3::Secret,
        transport_sockets::tls::v3::DownstreamTlsContext,
        transport_sockets::tls::v3::UpstreamTlsContext,
        envoy_types::pb::envoy::service::runtime::v3::Runtime,
        filters::network::http_connection_manager::v3::HttpConnectionManager,
        filters::network::tcp_proxy::v3::TcpProxy,
        filters::http::router::v3::Router,
        filters::http::lua::v3::Lua,
        filters::http::lua::v3::LuaPerRoute,
        filters::http::cors::v3::Cors,
        filters::http::rbac::v3::Rbac,
        filters::http::rbac::v3::RbacPerRoute,
        filters::http::local_ratelimit::v3::LocalRateLimit,
        filters::http::compressor::v3::Compressor,
        filters::listener::proxy_protocol::v3::ProxyProtocol,
        filters::listener::tls_inspector::v3::TlsInspector,
        upstreams::http::v3::HttpProtocolOptions,
        envoy_types::pb::envoy::extensions::access_loggers::file::v3::FileAccessLog,
        envoy_types::pb::envoy::extensions::compression::gzip::compressor::v3::Gzip,
    );
    None
}

/// A nested `Any` as `{:#?}` prints it.
static NESTED_ANY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"Any \{\s*type_url: "([^"]*)",\s*value: \[([\d,\s]*)\],\s*\}"#).expect("regex")
});

/// `InlineBytes([...])` of a data source: certificates and keys are PEM text.
static INLINE_BYTES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"InlineBytes\(\s*\[([\d,\s]*)\],?\s*\)").expect("regex"));

fn bytes_of(list: &str) -> Vec<u8> {
    list.split(',')
        .filter_map(|n| n.trim().parse::<u8>().ok())
        .collect()
}

/// Replaces nested `Any`s by their decoded form, indented where they stood.
fn expand(text: &str) -> String {
    let text = NESTED_ANY.replace_all(text, |c: &Captures| {
        let whole = c.get(0).expect("match");
        let indent = indent_at(text, whole.start());
        let bytes = bytes_of(&c[2]);
        let inner = match decode(&c[1], &bytes) {
            Some(decoded) => expand(&decoded),
            None => format!("Any {{ type_url: {:?}, {} bytes }}", &c[1], bytes.len()),
        };
        inner.replace('\n', &format!("\n{indent}"))
    });
    INLINE_BYTES
        .replace_all(&text, |c: &Captures| {
            let bytes = bytes_of(&c[1]);
            match String::from_utf8(bytes) {
                Ok(s) => format!("InlineBytes({s:?})"),
                Err(e) => format!("InlineBytes(<{} bytes>)", e.as_bytes().len()),
            }
        })
        .into_owned()
}

/// The leading whitespace of the line holding byte offset `at`.
fn indent_at(text: &str, at: usize) -> String {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    text[line_start..at]
        .chars()
        .take_while(|c| c.is_whitespace())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use envoy_types::pb::envoy::config::listener::v3::{Filter, FilterChain, Listener, filter};
    use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;

    fn any<T: Message + Name>(m: &T) -> Any {
        Any {
            type_url: T::type_url(),
            value: m.encode_to_vec(),
        }
    }

    #[test]
    fn nested_configurations_are_decoded_in_place() {
        let hcm = HttpConnectionManager {
            stat_prefix: "ingress_http".into(),
            ..Default::default()
        };
        let listener = Listener {
            name: "ingress_http".into(),
            filter_chains: vec![FilterChain {
                filters: vec![Filter {
                    name: "envoy.filters.network.http_connection_manager".into(),
                    config_type: Some(filter::ConfigType::TypedConfig(any(&hcm))),
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let text = describe(&any(&listener));
        assert!(text.starts_with("Listener {"), "{text}");
        assert!(text.contains("HttpConnectionManager {"), "{text}");
        assert!(text.contains("stat_prefix: \"ingress_http\""), "{text}");
        assert!(!text.contains("value: ["), "no raw bytes left: {text}");
        assert!(
            !text.contains("use_remote_address: None"),
            "defaults left out: {text}"
        );
    }

    #[test]
    fn unknown_types_and_text_bytes() {
        let unknown = Any {
            type_url: "type.googleapis.com/example.Unknown".into(),
            value: vec![1, 2, 3],
        };
        assert_eq!(
            describe(&unknown),
            "type.googleapis.com/example.Unknown (3 bytes)"
        );
        let text = expand("InlineBytes(\n    [\n        104,\n        105,\n    ],\n)");
        assert_eq!(text, "InlineBytes(\"hi\")");
    }
}
