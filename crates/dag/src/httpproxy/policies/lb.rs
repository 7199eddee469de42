//! `loadBalancerPolicy` (strategy and request hash policies) and `slowStartPolicy`.

use std::time::Duration;

use contour_api::v1::{LoadBalancerPolicy, SlowStartPolicy};

use super::headers::canonical_header_key;
use crate::duration::parse_go_duration;
use crate::policy::{HashPolicy, HashSource, SlowStart};

pub const ROUND_ROBIN: &str = "RoundRobin";
pub const WEIGHTED_LEAST_REQUEST: &str = "WeightedLeastRequest";
pub const RANDOM: &str = "Random";
pub const COOKIE: &str = "Cookie";
pub const REQUEST_HASH: &str = "RequestHash";
/// The cookie upstream's Cookie strategy hashes on.
pub const SESSION_COOKIE: &str = "X-Contour-Session-Affinity";

/// The strategy, and the warnings (`IgnoredField` messages) for ignored hash inputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadBalancing {
    /// Upstream's strategy string: `""` (default), one of the names above.
    pub strategy: String,
    pub hash_policies: Vec<HashPolicy>,
    pub warnings: Vec<String>,
}

/// Upstream's `loadBalancerPolicy`: unknown strategies (and an explicit RoundRobin) are `""`.
pub fn strategy(lbp: &LoadBalancerPolicy) -> &str {
    lbp.strategy
        .as_deref()
        .filter(|s| matches!(*s, WEIGHTED_LEAST_REQUEST | RANDOM | COOKIE | REQUEST_HASH))
        .unwrap_or("")
}

/// Upstream's `loadBalancerRequestHashPolicies`.
pub fn load_balancing(lbp: Option<&LoadBalancerPolicy>) -> LoadBalancing {
    let Some(lbp) = lbp else {
        return LoadBalancing::default();
    };
    match strategy(lbp) {
        COOKIE => LoadBalancing {
            strategy: COOKIE.into(),
            hash_policies: vec![HashPolicy {
                terminal: false,
                source: HashSource::Cookie {
                    name: SESSION_COOKIE.into(),
                    path: "/".into(),
                    ttl: Duration::ZERO,
                },
            }],
            warnings: Vec::new(),
        },
        REQUEST_HASH => request_hash(lbp),
        other => LoadBalancing {
            strategy: other.into(),
            ..Default::default()
        },
    }
}

fn request_hash(lbp: &LoadBalancerPolicy) -> LoadBalancing {
    let mut out = LoadBalancing {
        strategy: REQUEST_HASH.into(),
        ..Default::default()
    };
    let mut source_ip = false;
    let mut headers: Vec<String> = Vec::new();
    let mut params: Vec<String> = Vec::new();
    for p in &lbp.request_hash_policies {
        let ip = p.hash_source_ip == Some(true);
        let set = usize::from(ip)
            + usize::from(p.header_hash_options.is_some())
            + usize::from(p.query_parameter_hash_options.is_some());
        if set != 1 {
            out.warnings.push("ignoring invalid request hash policy, must set exactly one of hashSourceIP or headerHashOptions or queryParameterHashOptions".into());
            continue;
        }
        let source = if ip {
            if source_ip {
                out.warnings.push(
                    "ignoring invalid request hash policy, hashSourceIP specified multiple times"
                        .into(),
                );
                continue;
            }
            source_ip = true;
            HashSource::SourceIp
        } else if let Some(h) = &p.header_hash_options {
            let name = canonical_header_key(&h.header_name);
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                out.warnings.push(format!("ignoring invalid header hash policy options with invalid header name {name:?}: [a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')]"));
                continue;
            }
            if headers.contains(&name) {
                out.warnings.push(format!(
                    "ignoring invalid header hash policy options with duplicated header name {name}"
                ));
                continue;
            }
            headers.push(name.clone());
            HashSource::Header(name)
        } else if let Some(q) = &p.query_parameter_hash_options {
            let name = q.parameter_name.to_lowercase();
            if name.is_empty() {
                out.warnings.push("ignoring invalid query parameter hash policy options with an invalid empty query parameter name".into());
                continue;
            }
            if params.contains(&name) {
                out.warnings.push(format!("ignoring invalid query parameter hash policy options with duplicated query parameter name {name}"));
                continue;
            }
            params.push(name.clone());
            HashSource::QueryParameter(name)
        } else {
            continue;
        };
        out.hash_policies.push(HashPolicy {
            terminal: p.terminal == Some(true),
            source,
        });
    }
    if out.hash_policies.is_empty() {
        out.warnings.push(format!("ignoring invalid request hash policy options, setting load balancer strategy to default {ROUND_ROBIN}"));
        out.strategy = ROUND_ROBIN.into();
    }
    out
}

/// Upstream's `slowStartConfig`; the caller checks the strategy first.
pub fn slow_start(ss: &SlowStartPolicy) -> Result<SlowStart, String> {
    let window = parse_go_duration(&ss.window).map_err(|e| format!("error parsing window: {e}"))?;
    let aggression = match ss.aggression.as_deref() {
        None | Some("") => 1.0,
        Some(a) => a
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("error parsing aggression: \"{a}\" is not a decimal number"))?,
    };
    Ok(SlowStart {
        window,
        aggression_bits: aggression.to_bits(),
        min_weight_percent: ss.min_weight_percent.unwrap_or(10),
    })
}

/// Slow start works with these strategies only (`""` is RoundRobin).
pub fn slow_start_allowed(strategy: &str) -> bool {
    matches!(strategy, "" | ROUND_ROBIN | WEIGHTED_LEAST_REQUEST)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lbp(yaml: &str) -> LoadBalancerPolicy {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn strategies() {
        assert_eq!(load_balancing(None).strategy, "");
        assert_eq!(
            load_balancing(Some(&lbp("{strategy: RoundRobin}"))).strategy,
            ""
        );
        assert_eq!(
            load_balancing(Some(&lbp("{strategy: Sticky}"))).strategy,
            ""
        );
        assert_eq!(
            load_balancing(Some(&lbp("{strategy: Random}"))).strategy,
            "Random"
        );
        let cookie = load_balancing(Some(&lbp("{strategy: Cookie}")));
        assert_eq!(cookie.strategy, "Cookie");
        assert!(matches!(
            &cookie.hash_policies[0].source,
            HashSource::Cookie { name, path, .. } if name == SESSION_COOKIE && path == "/"
        ));
    }

    #[test]
    fn request_hash_warnings() {
        let got = load_balancing(Some(&lbp("{strategy: RequestHash, requestHashPolicies: [
              {headerHashOptions: {headerName: x-user}, terminal: true},
              {headerHashOptions: {headerName: X-User}},
              {hashSourceIP: true}, {hashSourceIP: true},
              {queryParameterHashOptions: {parameterName: Key}},
              {hashSourceIP: true, headerHashOptions: {headerName: a}},
              {headerHashOptions: {headerName: 'bad_name'}}]}")));
        assert_eq!(got.strategy, "RequestHash");
        assert_eq!(
            got.hash_policies,
            vec![
                HashPolicy {
                    terminal: true,
                    source: HashSource::Header("X-User".into())
                },
                HashPolicy {
                    terminal: false,
                    source: HashSource::SourceIp
                },
                HashPolicy {
                    terminal: false,
                    source: HashSource::QueryParameter("key".into())
                },
            ]
        );
        assert_eq!(
            got.warnings,
            vec![
                "ignoring invalid header hash policy options with duplicated header name X-User",
                "ignoring invalid request hash policy, hashSourceIP specified multiple times",
                "ignoring invalid request hash policy, must set exactly one of hashSourceIP or headerHashOptions or queryParameterHashOptions",
                "ignoring invalid header hash policy options with invalid header name \"Bad_name\": [a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')]",
            ]
        );
        let none = load_balancing(Some(&lbp("{strategy: RequestHash}")));
        assert_eq!(none.strategy, "RoundRobin");
        assert_eq!(
            none.warnings,
            vec![
                "ignoring invalid request hash policy options, setting load balancer strategy to default RoundRobin"
            ]
        );
    }

    #[test]
    fn slow_start_parsing() {
        let ok = slow_start(&SlowStartPolicy {
            window: "5s".into(),
            aggression: Some("1.5".into()),
            min_weight_percent: Some(20),
        })
        .unwrap();
        assert_eq!(ok.hash_string(), "5s1.50000020");
        let bad = SlowStartPolicy {
            window: "5x".into(),
            ..Default::default()
        };
        assert_eq!(
            slow_start(&bad).unwrap_err(),
            "error parsing window: time: unknown unit \"x\" in duration \"5x\""
        );
        let bad = SlowStartPolicy {
            window: "5s".into(),
            aggression: Some("fast".into()),
            ..Default::default()
        };
        assert_eq!(
            slow_start(&bad).unwrap_err(),
            "error parsing aggression: \"fast\" is not a decimal number"
        );
        assert!(!slow_start_allowed("Random"));
        assert!(slow_start_allowed("RoundRobin"));
    }
}
