//! Request/response header policies (`requestHeadersPolicy`, `responseHeadersPolicy` on routes
//! and services), with upstream's validation, canonical names and `%` escaping.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use contour_api::v1::HeadersPolicy as ApiHeadersPolicy;
use regex::Regex;

use super::super::envoy_vars;
pub use super::super::envoy_vars::canonical_header_key;
use crate::policy::HeadersPolicy;

/// A `Host` value `%REQ(name)%`: rewrite the host from that request header.
static HOST_FROM_HEADER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"%REQ\(([A-Za-z0-9-]+)\)%").expect("static"));

/// Values substituted for `%CONTOUR_NAMESPACE%`, `%CONTOUR_SERVICE_NAME%`, `%CONTOUR_SERVICE_PORT%`.
pub type DynamicHeaders = BTreeMap<&'static str, String>;

/// Escapes `%` for Envoy, then restores the allowed variables: Contour's own are substituted,
/// Envoy's allow-listed ones and `%REQ(...)%` pass through, anything else stays literal.
pub fn escape_header_value(value: &str, dynamic: &DynamicHeaders) -> String {
    let pairs: Vec<(&str, &str)> = dynamic.iter().map(|(k, v)| (*k, v.as_str())).collect();
    envoy_vars::escape_header_value(value, &pairs)
}

fn header_name_error(name: &str) -> String {
    envoy_vars::http_header_name_error(name).unwrap_or_default()
}

/// The header named by a `%REQ(name)%` Host value, if that is what it is.
fn host_rewrite_header(value: &str) -> Option<String> {
    let caps = HOST_FROM_HEADER.captures(value)?;
    Some(caps.get(1)?.as_str().trim().to_string())
}

/// The request and response header policies of a route or a service.
pub type RequestResponse = (Option<Box<HeadersPolicy>>, Option<Box<HeadersPolicy>>);

/// Upstream's `headersPolicyRoute` (also used for services). Errors are upstream's messages,
/// without the "on request headers" suffix the caller adds.
pub fn headers_policy(
    policy: Option<&ApiHeadersPolicy>,
    allow_host: bool,
    dynamic: &DynamicHeaders,
) -> Result<Option<Box<HeadersPolicy>>, String> {
    let Some(policy) = policy else {
        return Ok(None);
    };
    let mut out = HeadersPolicy::default();
    for entry in &policy.set {
        let key = canonical_header_key(&entry.name);
        if out.set.contains_key(&key) {
            return Err(format!("duplicate header addition: {key:?}"));
        }
        if key == "Host" {
            if !allow_host {
                return Err(format!("rewriting {key:?} header is not supported"));
            }
            match host_rewrite_header(&entry.value) {
                Some(h) if !h.is_empty() => out.host_rewrite_header = canonical_header_key(&h),
                _ => out.host_rewrite = entry.value.clone(),
            }
            continue;
        }
        if envoy_vars::http_header_name_error(&key).is_some() {
            let why = header_name_error(&key);
            return Err(format!("invalid set header {key:?}: {why}"));
        }
        out.set
            .insert(key, escape_header_value(&entry.value, dynamic));
    }
    for entry in &policy.remove {
        let key = canonical_header_key(entry);
        if out.remove.contains(&key) {
            return Err(format!("duplicate header removal: {key:?}"));
        }
        if envoy_vars::http_header_name_error(&key).is_some() {
            let why = header_name_error(&key);
            return Err(format!("invalid remove header {key:?}: {why}"));
        }
        out.remove.push(key);
    }
    out.remove.sort();
    Ok(Some(Box::new(out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use contour_api::v1::HeaderValue;
    use rstest::rstest;

    fn dynamic() -> DynamicHeaders {
        DynamicHeaders::from([
            ("CONTOUR_NAMESPACE", "ns".to_string()),
            ("CONTOUR_SERVICE_NAME", "svc".to_string()),
            ("CONTOUR_SERVICE_PORT", "80".to_string()),
        ])
    }

    #[rstest]
    #[case::plain("abc", "abc")]
    #[case::percent("100%", "100%%")]
    #[case::namespace("%CONTOUR_NAMESPACE%", "ns")]
    #[case::service("%CONTOUR_SERVICE_NAME%:%CONTOUR_SERVICE_PORT%", "svc:80")]
    #[case::envoy_var("%DOWNSTREAM_REMOTE_ADDRESS%", "%DOWNSTREAM_REMOTE_ADDRESS%")]
    #[case::req("%REQ(X-Foo)%", "%REQ(X-Foo)%")]
    #[case::req_alt_len("%REQ(:authority?host):10%", "%REQ(:authority?host):10%")]
    #[case::unknown("%UNKNOWN%", "%%UNKNOWN%%")]
    #[case::start_time("%START_TIME%", "%%START_TIME%%")]
    fn escaping(#[case] value: &str, #[case] want: &str) {
        assert_eq!(escape_header_value(value, &dynamic()), want);
    }

    fn policy(set: &[(&str, &str)], remove: &[&str]) -> ApiHeadersPolicy {
        ApiHeadersPolicy {
            set: set
                .iter()
                .map(|(n, v)| HeaderValue {
                    name: n.to_string(),
                    value: v.to_string(),
                })
                .collect(),
            remove: remove.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[rstest]
    #[case::dup_set(policy(&[("x-a", "1"), ("X-A", "2")], &[]), true, "duplicate header addition: \"X-A\"")]
    #[case::dup_remove(policy(&[], &["x-a", "X-a"]), true, "duplicate header removal: \"X-A\"")]
    #[case::host_on_response(policy(&[("host", "x")], &[]), false, "rewriting \"Host\" header is not supported")]
    #[case::bad_name(policy(&[("x_a", "1")], &[]), true, "invalid set header \"X_a\": [a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')]")]
    #[case::bad_remove(policy(&[], &["x a"]), true, "invalid remove header \"x a\": [a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')]")]
    fn errors(#[case] p: ApiHeadersPolicy, #[case] allow_host: bool, #[case] want: &str) {
        assert_eq!(
            headers_policy(Some(&p), allow_host, &dynamic()).unwrap_err(),
            want
        );
    }

    #[test]
    fn host_rewrites() {
        let lit = headers_policy(Some(&policy(&[("Host", "a.b")], &[])), true, &dynamic())
            .unwrap()
            .unwrap();
        assert_eq!(lit.host_rewrite, "a.b");
        assert!(lit.set.is_empty());
        let dynamic_host = headers_policy(
            Some(&policy(&[("host", "%REQ(x-target)%")], &["b", "a"])),
            true,
            &dynamic(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(dynamic_host.host_rewrite_header, "X-Target");
        assert_eq!(dynamic_host.remove, vec!["A", "B"]);
    }
}
