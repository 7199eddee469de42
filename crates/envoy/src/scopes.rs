//! Route scopes for the plain HTTP listener (`contour serve --http-route-scopes N`, beyond
//! upstream; off by default).
//!
//! Upstream gives every plain-HTTP virtual host to Envoy in one route configuration,
//! `ingress_http`, and Envoy rebuilds that whole table whenever one host changes: at 10,000
//! hosts about 200 ms of Envoy's time per route change, whatever the control plane does. With
//! N scopes the hosts are spread over N route configurations `ingress_http/0` ..
//! `ingress_http/<N-1>` by a hash of the host name, and a change re-sends and rebuilds only
//! the one its host is in.
//!
//! Envoy picks a route configuration per request by a *scope key* read from a header, and
//! compares keys byte for byte. So the key is not the host itself (that would lose Envoy's
//! case-insensitive host matching, wildcard domains and the `*` host) but the host's bucket:
//! the first HTTP filter, a Lua script fixed but for the number of scopes, computes the bucket
//! of the request's host exactly as [`scope_of_host`] does and sets it in [`SCOPE_HEADER`]
//! (replacing whatever the client sent); Envoy then selects the scope again. Every exact
//! domain goes to its bucket's scope, and every host with a wildcard domain (or `*`) goes to
//! every scope, so each scope holds every host a request in its bucket can match: a request
//! matches the same host as it would in `ingress_http`. Each scope removes the header before
//! the request is forwarded.

use envoy_types::pb::envoy::config::route::v3::{
    ScopedRouteConfiguration, scoped_route_configuration,
};
use envoy_types::pb::envoy::extensions::filters::http::lua::v3::Lua;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    ScopedRds, ScopedRoutes, scoped_routes,
};

use crate::config::TranslateConfig;
use crate::names::HTTP_LISTENER_NAME;
use crate::pb::contour_config_source;

/// The request header carrying the scope key.
pub const SCOPE_HEADER: &str = "x-contour-route-scope";
/// The name of the HTTP filter that sets [`SCOPE_HEADER`] (first in the chain).
pub const SCOPE_FILTER: &str = "contour.route_scope";
/// The accepted numbers of scopes.
pub const SCOPES_RANGE: std::ops::RangeInclusive<u16> = 2..=1024;

/// The number of scopes when scoping is on.
pub fn scopes(cfg: &TranslateConfig) -> Option<u16> {
    (cfg.http_route_scopes > 1).then_some(cfg.http_route_scopes)
}

/// The route configuration of scope `k`.
pub fn scope_route_config_name(k: u16) -> String {
    format!("{HTTP_LISTENER_NAME}/{k}")
}

/// The bucket of a request's host: the port removed as Envoy removes it for host matching
/// (after the last `:`, unless that is inside an IPv6 literal's brackets), ASCII lowercased.
pub fn scope_of_host(host: &str, scopes: u16) -> u16 {
    let host = match (host.rfind(':'), host.rfind(']')) {
        (Some(colon), bracket) if bracket.is_none_or(|b| b < colon) => &host[..colon],
        _ => host,
    };
    bucket(host.as_bytes(), scopes)
}

/// Whether a virtual host with these domains belongs to every scope: one of them has a
/// wildcard (or is `*`).
pub fn in_every_scope(domains: &[String]) -> bool {
    domains.iter().any(|d| d.contains('*'))
}

/// The scopes a virtual host belongs to: every scope when [`in_every_scope`], otherwise the
/// bucket of each domain, once each. Computed on every route change for every host, so
/// without allocating.
pub fn scopes_of_domains(domains: &[String], scopes: u16) -> impl Iterator<Item = u16> + '_ {
    let every = in_every_scope(domains);
    let all = (0..scopes).filter(move |_| every);
    let exact = domains
        .iter()
        .enumerate()
        .filter(move |_| !every)
        .filter_map(move |(i, d)| {
            let k = bucket(d.as_bytes(), scopes);
            let first = domains[..i]
                .iter()
                .all(|e| bucket(e.as_bytes(), scopes) != k);
            first.then_some(k)
        });
    all.chain(exact)
}

/// `h = (h * 31 + byte) mod 2^32` over the lowercased bytes, then `h mod scopes`: exact in the
/// Lua script's double-precision numbers as in integers.
fn bucket(host: &[u8], scopes: u16) -> u16 {
    let h = host.iter().fold(0u32, |h, b| {
        h.wrapping_mul(31)
            .wrapping_add(u32::from(b.to_ascii_lowercase()))
    });
    // The remainder is below `scopes`, a u16.
    (h % u32::from(scopes.max(1))) as u16
}

/// The virtual hosts of each scope, in scope order: each host (in the given order) in every
/// scope its domains put it in.
pub fn split<T: Clone>(
    hosts: impl IntoIterator<Item = T>,
    domains: impl Fn(&T) -> &[String],
    scopes: u16,
) -> Vec<Vec<T>> {
    let mut out = vec![Vec::new(); usize::from(scopes)];
    for host in hosts {
        for k in scopes_of_domains(domains(&host), scopes) {
            out[usize::from(k)].push(host.clone());
        }
    }
    out
}

/// The scopes Envoy gets over SRDS (none when scoping is off): scope `k` is keyed `"<k>"`
/// and routes with route configuration `ingress_http/<k>`.
pub fn scoped_route_configurations(cfg: &TranslateConfig) -> Vec<ScopedRouteConfiguration> {
    use scoped_route_configuration::{Key, key::Fragment, key::fragment::Type};
    (0..scopes(cfg).unwrap_or(0))
        .map(|k| {
            let name = scope_route_config_name(k);
            ScopedRouteConfiguration {
                name: name.clone(),
                route_configuration_name: name,
                key: Some(Key {
                    fragments: vec![Fragment {
                        r#type: Some(Type::StringKey(k.to_string())),
                    }],
                }),
                ..Default::default()
            }
        })
        .collect()
}

/// The HCM's `scoped_routes`: scopes keyed by [`SCOPE_HEADER`], the scopes over SRDS and
/// their route configurations over RDS, both from contour. (Envoy fetches route
/// configurations over RDS only for scopes it gets over SRDS, not for scopes written into the
/// listener.)
pub fn scoped_routes() -> ScopedRoutes {
    use scoped_routes::scope_key_builder::fragment_builder::header_value_extractor::ExtractType;
    use scoped_routes::scope_key_builder::{FragmentBuilder, fragment_builder};
    let extractor = fragment_builder::HeaderValueExtractor {
        name: SCOPE_HEADER.to_string(),
        element_separator: ",".to_string(),
        extract_type: Some(ExtractType::Index(0)),
    };
    ScopedRoutes {
        name: HTTP_LISTENER_NAME.to_string(),
        scope_key_builder: Some(scoped_routes::ScopeKeyBuilder {
            fragments: vec![FragmentBuilder {
                r#type: Some(fragment_builder::Type::HeaderValueExtractor(extractor)),
            }],
        }),
        rds_config_source: Some(contour_config_source()),
        config_specifier: Some(scoped_routes::ConfigSpecifier::ScopedRds(ScopedRds {
            scoped_rds_config_source: Some(contour_config_source()),
            ..Default::default()
        })),
    }
}

/// The Lua filter that sets the scope key. The script is fixed; only the number of scopes (an
/// integer contour checked) is written into it, never anything from a request or an object.
pub fn scope_filter(scopes: u16) -> Lua {
    use envoy_types::pb::envoy::config::core::v3::{DataSource, data_source};
    Lua {
        default_source_code: Some(DataSource {
            specifier: Some(data_source::Specifier::InlineString(scope_script(scopes))),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn scope_script(scopes: u16) -> String {
    format!(
        r#"-- Contour route scopes: the bucket of the request's host, as contour computes it.
local SCOPES = {scopes}
function envoy_on_request(handle)
  local headers = handle:headers()
  local host = headers:get(":authority") or ""
  local colon = string.match(host, "^.*():")
  if colon ~= nil then
    local bracket = string.match(host, "^.*()%]")
    if bracket == nil or bracket < colon then
      host = string.sub(host, 1, colon - 1)
    end
  end
  host = string.lower(host)
  local h = 0
  for i = 1, #host do
    h = (h * 31 + string.byte(host, i)) % 4294967296
  end
  headers:replace("{SCOPE_HEADER}", string.format("%d", h % SCOPES))
end
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_fall_in_their_domains_bucket_whatever_the_case_and_port() {
        for host in ["foo.example.com", "a", "", "x.y.z.example.org"] {
            let want: Vec<u16> = scopes_of_domains(&[host.to_string()], 16).collect();
            assert_eq!(want.len(), 1);
            for seen in [
                host.to_string(),
                host.to_uppercase(),
                format!("{host}:8080"),
                format!("{}:80", host.to_uppercase()),
            ] {
                assert_eq!(scope_of_host(&seen, 16), want[0], "{seen}");
            }
        }
    }

    #[test]
    fn ipv6_literals_keep_their_colons() {
        let want = bucket(b"[::1]", 64);
        assert_eq!(scope_of_host("[::1]", 64), want);
        assert_eq!(scope_of_host("[::1]:8080", 64), want);
    }

    #[test]
    fn the_hash_is_the_scripts() {
        // h = (h*31 + b) mod 2^32 by hand for "ab" = 97*31 + 98.
        assert_eq!(bucket(b"ab", 1000), ((97 * 31 + 98) % 1000) as u16);
        // Past 2^32 the wrapping multiply equals the script's modulo.
        let long = "a".repeat(40);
        let mut h: u64 = 0;
        for b in long.bytes() {
            h = (h * 31 + u64::from(b)) % 4_294_967_296;
        }
        assert_eq!(u64::from(bucket(long.as_bytes(), 1000)), h % 1000);
    }

    #[test]
    fn wildcard_and_catch_all_hosts_are_in_every_scope() {
        let all: Vec<u16> = (0..8).collect();
        let of = |d: &str| scopes_of_domains(&[d.to_string()], 8).collect::<Vec<_>>();
        assert_eq!(of("*.example.com"), all);
        assert_eq!(of("*"), all);
        let hosts = [
            ("exact", vec!["foo.example.com".to_string()]),
            ("wild", vec!["*.example.com".to_string()]),
        ];
        let split = split(hosts.iter(), |h| &h.1, 8);
        let foo = usize::from(scope_of_host("foo.example.com", 8));
        for (k, hosts) in split.iter().enumerate() {
            let want: &[&str] = if k == foo {
                &["exact", "wild"]
            } else {
                &["wild"]
            };
            let names: Vec<&str> = hosts.iter().map(|h| h.0).collect();
            assert_eq!(names, want, "scope {k}");
        }
    }

    #[test]
    fn the_script_carries_only_the_number_of_scopes() {
        let a = scope_script(7);
        let b = scope_script(9);
        assert_eq!(a.replace("SCOPES = 7", "SCOPES = 9"), b);
        assert!(a.contains(SCOPE_HEADER));
    }
}
