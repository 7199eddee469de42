//! Access log settings shared by contour.yaml and ContourConfiguration: the default JSON fields,
//! the canonical field → Envoy operator table, and the validation of Envoy format strings
//! against the command operators upstream Contour allows.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::Regex;

/// Fields logged by default with `accesslog-format: json`, in upstream's order.
pub const DEFAULT_JSON_FIELDS: &[&str] = &[
    "@timestamp",
    "authority",
    "bytes_received",
    "bytes_sent",
    "downstream_local_address",
    "downstream_remote_address",
    "duration",
    "method",
    "path",
    "protocol",
    "request_id",
    "requested_server_name",
    "response_code",
    "response_flags",
    "uber_trace_id",
    "upstream_cluster",
    "upstream_host",
    "upstream_local_address",
    "upstream_service_time",
    "user_agent",
    "x_forwarded_for",
    "grpc_status",
    "grpc_status_number",
];

/// Field names with a canonical operator that is not just the upper-cased name.
const CANONICAL_FIELDS: &[(&str, &str)] = &[
    ("@timestamp", "%START_TIME%"),
    ("ts", "%START_TIME%"),
    ("authority", "%REQ(:AUTHORITY)%"),
    ("method", "%REQ(:METHOD)%"),
    ("path", "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"),
    ("request_id", "%REQ(X-REQUEST-ID)%"),
    ("uber_trace_id", "%REQ(UBER-TRACE-ID)%"),
    (
        "upstream_service_time",
        "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%",
    ),
    ("user_agent", "%REQ(USER-AGENT)%"),
    ("x_forwarded_for", "%REQ(X-FORWARDED-FOR)%"),
    ("x_trace_id", "%REQ(X-TRACE-ID)%"),
    ("tls_ja3_fingerprint", "%TLS_JA3_FINGERPRINT%"),
    ("tls_ja4_fingerprint", "%TLS_JA4_FINGERPRINT%"),
    (
        "contour_config_kind",
        "%METADATA(ROUTE:envoy.access_loggers.file:io.projectcontour.kind)%",
    ),
    (
        "contour_config_namespace",
        "%METADATA(ROUTE:envoy.access_loggers.file:io.projectcontour.namespace)%",
    ),
    (
        "contour_config_name",
        "%METADATA(ROUTE:envoy.access_loggers.file:io.projectcontour.name)%",
    ),
];

/// Operators without arguments that Contour accepts.
const SIMPLE_OPERATORS: &[&str] = &[
    "BYTES_RECEIVED",
    "BYTES_SENT",
    "CONNECTION_ID",
    "CONNECTION_TERMINATION_DETAILS",
    "DOWNSTREAM_DIRECT_REMOTE_ADDRESS",
    "DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT",
    "DOWNSTREAM_DIRECT_REMOTE_PORT",
    "DOWNSTREAM_HEADER_BYTES_RECEIVED",
    "DOWNSTREAM_HEADER_BYTES_SENT",
    "DOWNSTREAM_LOCAL_ADDRESS",
    "DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT",
    "DOWNSTREAM_LOCAL_PORT",
    "DOWNSTREAM_LOCAL_SUBJECT",
    "DOWNSTREAM_LOCAL_URI_SAN",
    "DOWNSTREAM_PEER_CERT",
    "DOWNSTREAM_PEER_CERT_V_END",
    "DOWNSTREAM_PEER_CERT_V_START",
    "DOWNSTREAM_PEER_FINGERPRINT_1",
    "DOWNSTREAM_PEER_FINGERPRINT_256",
    "DOWNSTREAM_PEER_ISSUER",
    "DOWNSTREAM_PEER_SERIAL",
    "DOWNSTREAM_PEER_SUBJECT",
    "DOWNSTREAM_PEER_URI_SAN",
    "DOWNSTREAM_REMOTE_ADDRESS",
    "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT",
    "DOWNSTREAM_REMOTE_PORT",
    "DOWNSTREAM_TLS_CIPHER",
    "DOWNSTREAM_TLS_SESSION_ID",
    "DOWNSTREAM_TLS_VERSION",
    "DOWNSTREAM_WIRE_BYTES_RECEIVED",
    "DOWNSTREAM_WIRE_BYTES_SENT",
    "DURATION",
    "FILTER_CHAIN_NAME",
    "GRPC_STATUS",
    "GRPC_STATUS_NUMBER",
    "HOSTNAME",
    "LOCAL_REPLY_BODY",
    "PROTOCOL",
    "REQUEST_HEADERS_BYTES",
    "REQUESTED_SERVER_NAME",
    "REQUEST_DURATION",
    "REQUEST_TX_DURATION",
    "RESPONSE_CODE",
    "RESPONSE_CODE_DETAILS",
    "RESPONSE_DURATION",
    "RESPONSE_FLAGS",
    "RESPONSE_HEADERS_BYTES",
    "RESPONSE_TRAILERS_BYTES",
    "RESPONSE_TX_DURATION",
    "ROUTE_NAME",
    "START_TIME",
    "TLS_JA3_FINGERPRINT",
    "TLS_JA4_FINGERPRINT",
    "UPSTREAM_CLUSTER",
    "UPSTREAM_FILTER_STATE",
    "UPSTREAM_HEADER_BYTES_RECEIVED",
    "UPSTREAM_HEADER_BYTES_SENT",
    "UPSTREAM_HOST",
    "UPSTREAM_LOCAL_ADDRESS",
    "UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT",
    "UPSTREAM_LOCAL_PORT",
    "UPSTREAM_PEER_CERT",
    "UPSTREAM_PEER_CERT_V_END",
    "UPSTREAM_PEER_CERT_V_START",
    "UPSTREAM_PEER_ISSUER",
    "UPSTREAM_PEER_SUBJECT",
    "UPSTREAM_PROTOCOL",
    "UPSTREAM_REMOTE_ADDRESS",
    "UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT",
    "UPSTREAM_REMOTE_PORT",
    "UPSTREAM_REQUEST_ATTEMPT_COUNT",
    "UPSTREAM_TLS_CIPHER",
    "UPSTREAM_TLS_SESSION_ID",
    "UPSTREAM_TLS_VERSION",
    "UPSTREAM_TRANSPORT_FAILURE_REASON",
    "UPSTREAM_WIRE_BYTES_RECEIVED",
    "UPSTREAM_WIRE_BYTES_SENT",
    "VIRTUAL_CLUSTER_NAME",
];

/// Operators that take arguments: `(name, arguments optional, truncation refused)`.
const COMPLEX_OPERATORS: &[(&str, bool, bool)] = &[
    ("ENVIRONMENT", false, false),
    ("METADATA", false, false),
    ("REQ", false, false),
    ("REQ_WITHOUT_QUERY", false, false),
    ("RESP", false, false),
    ("START_TIME", true, true),
    ("TRAILER", false, false),
];

/// `%NAME(args):len%` pieces of a format string; a `%` that starts no operator matches alone.
fn operator_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"%(([A-Z0-9_]+)(\([^)]+\)(:[0-9]+)?)?%)?").expect("static regex"))
}

/// Checks every command operator of an Envoy format string against the allowed set.
pub fn validate_operators(format: &str) -> Result<(), String> {
    for caps in operator_regex().captures_iter(format) {
        let whole = caps.get(0).map_or("", |m| m.as_str());
        let Some(op) = caps.get(2).map(|m| m.as_str()) else {
            return Err(format!("invalid Envoy format: {whole}"));
        };
        let has_args = caps.get(3).is_some();
        let has_truncation = caps.get(4).is_some();
        let simple = SIMPLE_OPERATORS.contains(&op);
        let complex = COMPLEX_OPERATORS.iter().find(|(name, _, _)| *name == op);
        match complex {
            None if !simple => {
                return Err(format!(
                    "invalid Envoy format: {whole}, invalid Envoy operator: {op}"
                ));
            }
            Some((_, args_optional, _)) if !args_optional && !has_args => {
                return Err(format!(
                    "invalid Envoy format: {whole}, arguments required for operator: {op}"
                ));
            }
            Some((_, _, true)) if has_truncation => {
                return Err(format!(
                    "invalid Envoy format: {whole}, operator {op} cannot have truncation length"
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Validates `accesslog-format-string`: allowed operators and a trailing newline.
pub fn validate_format_string(format: &str) -> Result<(), String> {
    if format.is_empty() {
        return Ok(());
    }
    validate_operators(format).map_err(|e| format!("invalid access log format: {e}"))?;
    if !format.ends_with('\n') {
        return Err("invalid access log format: must end in newline".into());
    }
    Ok(())
}

/// The JSON access log fields as `name → Envoy format`: a bare name maps to its canonical
/// operator (or to `%NAME%` for a simple operator), `name=%OPERATOR%` is taken as written.
/// Later entries win over earlier ones with the same name.
pub fn json_field_map<S: AsRef<str>>(fields: &[S]) -> Result<BTreeMap<String, String>, String> {
    let mut map = BTreeMap::new();
    for field in fields {
        let field = field.as_ref();
        let (name, format) = match field.split_once('=') {
            Some((name, format)) => (name, format.to_string()),
            None => (field, canonical_format(field).unwrap_or_default()),
        };
        if format.is_empty() {
            return Err(format!("invalid JSON log field name {name}"));
        }
        let canonical = CANONICAL_FIELDS
            .iter()
            .any(|(n, f)| *n == name && *f == format);
        if !canonical {
            validate_operators(&format).map_err(|e| format!("invalid JSON field: {e}"))?;
        }
        map.insert(name.to_string(), format);
    }
    Ok(map)
}

fn canonical_format(name: &str) -> Option<String> {
    if let Some((_, f)) = CANONICAL_FIELDS.iter().find(|(n, _)| *n == name) {
        return Some((*f).to_string());
    }
    let upper = name.to_ascii_uppercase();
    SIMPLE_OPERATORS
        .contains(&upper.as_str())
        .then(|| format!("%{upper}%"))
}

/// Envoy formatter extensions a set of formats needs (`REQ_WITHOUT_QUERY`, `METADATA`).
pub fn formatter_extensions<'a>(formats: impl IntoIterator<Item = &'a str>) -> Vec<&'static str> {
    let mut out = Vec::new();
    for format in formats {
        for caps in operator_regex().captures_iter(format) {
            let ext = match caps.get(2).map(|m| m.as_str()) {
                Some("REQ_WITHOUT_QUERY") => "envoy.formatter.req_without_query",
                Some("METADATA") => "envoy.formatter.metadata",
                _ => continue,
            };
            if !out.contains(&ext) {
                out.push(ext);
            }
        }
    }
    out.sort_unstable();
    out
}

/// Whether any of the formats reads a route's metadata (`%METADATA(ROUTE:...)%`, which the
/// `contour_config_*` JSON fields use): only then does Envoy need the source object on every
/// route.
pub fn reads_route_metadata<'a>(formats: impl IntoIterator<Item = &'a str>) -> bool {
    formats.into_iter().any(|format| {
        operator_regex().captures_iter(format).any(|caps| {
            caps.get(2).is_some_and(|m| m.as_str() == "METADATA")
                && caps
                    .get(3)
                    .is_some_and(|args| args.as_str().starts_with("(ROUTE:"))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::plain("%START_TIME% %REQ(:METHOD)% %RESPONSE_CODE%\n")]
    #[case::start_time_args("[%START_TIME(%s.%3f)%] %BYTES_SENT%\n")]
    #[case::truncation("%REQ(USER-AGENT):10%\n")]
    #[case::no_operators("hello\n")]
    fn format_strings_accepted(#[case] f: &str) {
        assert_eq!(validate_format_string(f), Ok(()));
    }

    #[rstest]
    #[case::unknown("%NOPE%\n", "invalid Envoy operator: NOPE")]
    #[case::missing_args("%REQ%\n", "arguments required for operator: REQ")]
    #[case::truncated_start_time("%START_TIME(%s):3%\n", "cannot have truncation length")]
    #[case::lone_percent("100%\n", "invalid Envoy format")]
    #[case::no_newline("%PROTOCOL%", "must end in newline")]
    fn format_strings_refused(#[case] f: &str, #[case] want: &str) {
        let err = validate_format_string(f).unwrap_err();
        assert!(err.contains(want), "{err}");
    }

    #[test]
    fn json_fields_map_like_upstream() {
        let map = json_field_map(&["@timestamp", "protocol", "custom=%REQ(X-FOO)%"]).unwrap();
        assert_eq!(map["@timestamp"], "%START_TIME%");
        assert_eq!(map["protocol"], "%PROTOCOL%");
        assert_eq!(map["custom"], "%REQ(X-FOO)%");
        assert!(json_field_map(DEFAULT_JSON_FIELDS).is_ok());
        assert_eq!(
            json_field_map(&["nope"]).unwrap_err(),
            "invalid JSON log field name nope"
        );
        assert!(json_field_map(&["x=%NOPE%"]).is_err());
    }

    #[test]
    fn extensions_for_formats() {
        let got = formatter_extensions(["%REQ_WITHOUT_QUERY(:PATH)% %METADATA(ROUTE:a:b)%"]);
        assert_eq!(
            got,
            vec![
                "envoy.formatter.metadata",
                "envoy.formatter.req_without_query"
            ]
        );
    }

    #[rstest]
    #[case::format_string(
        "%METADATA(ROUTE:envoy.access_loggers.file:io.projectcontour.kind)%\n",
        true
    )]
    #[case::truncated("x %METADATA(ROUTE:a:b):10%\n", true)]
    #[case::cluster_metadata("%METADATA(CLUSTER:a:b)%\n", false)]
    #[case::no_metadata("%REQ(:METHOD)% %RESPONSE_CODE%\n", false)]
    #[case::literal_text("METADATA(ROUTE:a:b)\n", false)]
    fn route_metadata_readers(#[case] format: &str, #[case] reads: bool) {
        assert_eq!(reads_route_metadata([format]), reads);
    }

    #[test]
    fn contour_config_fields_read_route_metadata() {
        let map = json_field_map(&["method", "contour_config_name"]).unwrap();
        assert!(reads_route_metadata(map.values().map(String::as_str)));
        let map = json_field_map(DEFAULT_JSON_FIELDS).unwrap();
        assert!(!reads_route_metadata(map.values().map(String::as_str)));
    }
}
