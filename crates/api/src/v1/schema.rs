//! Schema fragments shared by several CRD fields: patterns, enums for list items, and the
//! `x-kubernetes-validations` rules upstream Contour declares. Keeping them here means the CRD
//! and the admission step (which reads the generated schema) cannot drift apart.

use schemars::{Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value};

use super::DetailedCondition;

/// A Go-style duration such as `300ms`, `1m30s`, or `infinity`.
pub(crate) const DURATION_OR_INFINITY: &str = r"^(((\d*(\.\d*)?h)|(\d*(\.\d*)?m)|(\d*(\.\d*)?s)|(\d*(\.\d*)?ms)|(\d*(\.\d*)?us)|(\d*(\.\d*)?µs)|(\d*(\.\d*)?ns))+|infinity|infinite)$";
/// A Go-style duration without the `infinity` spelling.
pub(crate) const DURATION: &str = r"^(((\d*(\.\d*)?h)|(\d*(\.\d*)?m)|(\d*(\.\d*)?s)|(\d*(\.\d*)?ms)|(\d*(\.\d*)?us)|(\d*(\.\d*)?µs)|(\d*(\.\d*)?ns))+)$";
/// A Go-style duration, or `0` to disable.
pub(crate) const DURATION_OR_ZERO: &str = r"^(((\d*(\.\d*)?h)|(\d*(\.\d*)?m)|(\d*(\.\d*)?s)|(\d*(\.\d*)?ms)|(\d*(\.\d*)?us)|(\d*(\.\d*)?µs)|(\d*(\.\d*)?ns))+|0)$";
/// A virtual host name, optionally with a leading `*.` wildcard label.
pub(crate) const FQDN: &str =
    r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/// A DNS subdomain (RFC 1123), no wildcard.
pub(crate) const DNS_SUBDOMAIN: &str =
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/// An absolute path.
pub(crate) const ABSOLUTE_PATH: &str = r"^\/.*$";
/// An HTTP token as allowed in CORS header lists.
pub(crate) const CORS_HEADER_VALUE: &str = r"^[a-zA-Z0-9!#$%&'*+.^_`|~-]+$";
/// A cookie name: no separators, whitespace or control characters.
pub(crate) const COOKIE_NAME: &str = r#"^[^()<>@,;:\\"\/[\]?={} \t\x7f\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f]+$"#;
/// A cookie Path attribute value.
pub(crate) const COOKIE_PATH: &str = r"^[^;\x7f\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f]+$";
/// A decimal number such as `1.0` or `.5`.
pub(crate) const DECIMAL: &str = r"^([0-9]+([.][0-9]+)?|[.][0-9]+)$";
/// A condition type, optionally prefixed with a DNS subdomain and `/`.
pub(crate) const CONDITION_TYPE: &str = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$";
/// A CamelCase condition reason.
pub(crate) const CONDITION_REASON: &str = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$";

/// Redirect status codes accepted by Envoy.
pub(crate) const REDIRECT_CODES: [u32; 5] = [301, 302, 303, 307, 308];

/// Retry conditions accepted by Envoy's router (HTTP and gRPC).
pub(crate) const RETRY_ON: [&str; 16] = [
    "5xx",
    "gateway-error",
    "reset",
    "reset-before-request",
    "connect-failure",
    "envoy-ratelimited",
    "retriable-4xx",
    "refused-stream",
    "retriable-status-codes",
    "retriable-headers",
    "http3-post-connect-failure",
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
];

/// `retryOn`: a list of [`RETRY_ON`] values.
pub(crate) fn retry_on_list(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": { "type": "string", "enum": RETRY_ON }
    })
}

/// `redirectResponseCodes`: a list of [`REDIRECT_CODES`].
pub(crate) fn redirect_code_list(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": { "type": "integer", "format": "int32", "enum": REDIRECT_CODES }
    })
}

/// A list of conditions keyed by `type`, as Kubernetes status conditions are. Like
/// `metav1.Condition`, each entry requires `lastTransitionTime` in the schema.
pub(crate) fn condition_list(generator: &mut SchemaGenerator) -> Schema {
    let mut items = generator.subschema_for::<DetailedCondition>();
    if let Some(Value::Array(required)) = items.get_mut("required") {
        let ltt = Value::from("lastTransitionTime");
        if !required.contains(&ltt) {
            required.push(ltt);
            required.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        }
    }
    json_schema!({
        "type": "array",
        "items": items,
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["type"]
    })
}

/// A CEL rule upstream Contour attaches to a type, with the message the API server reports.
/// Admission cannot run CEL, so each rule carries a native check of the same meaning; the
/// rule text is the key admission uses to find it.
pub(crate) struct CelRule {
    pub rule: &'static str,
    pub message: &'static str,
    pub check: fn(&Map<String, Value>) -> bool,
}

fn count_present(obj: &Map<String, Value>, keys: &[&str]) -> usize {
    keys.iter().filter(|k| obj.contains_key(**k)).count()
}

/// `AuthorizationServer`: `httpSettings` only with `serviceType: http`.
pub(crate) const RULE_AUTH_HTTP_SETTINGS: CelRule = CelRule {
    rule: "!has(self.httpSettings) || self.serviceType == 'http'",
    message: "httpSettings can only be set when serviceType is 'http'",
    check: |o| {
        !o.contains_key("httpSettings") || o.get("serviceType") == Some(&Value::from("http"))
    },
};
/// `HTTPAuthorizationServerAllowedHeaders`: exactly one matcher.
pub(crate) const RULE_ALLOWED_HEADER_ONE_OF: CelRule = CelRule {
    rule: "(has(self.exact) ? 1 : 0) + (has(self.prefix) ? 1 : 0) + (has(self.suffix) ? 1 : 0) + (has(self.contains) ? 1 : 0) == 1",
    message: "only one of prefix, suffix, exact, and contains should be set in the allowedHeader",
    check: |o| count_present(o, &["exact", "prefix", "suffix", "contains"]) == 1,
};
/// `JWTProvider`: exactly one key source.
pub(crate) const RULE_JWKS_ONE_OF: CelRule = CelRule {
    rule: "(has(self.remoteJWKS) && !has(self.localJWKS)) || (!has(self.remoteJWKS) && has(self.localJWKS))",
    message: "exactly one of remoteJWKS or localJWKS must be set",
    check: |o| count_present(o, &["remoteJWKS", "localJWKS"]) == 1,
};
/// `UpstreamValidation`: the first of `subjectNames` repeats `subjectName`.
pub(crate) const RULE_SUBJECT_NAMES: CelRule = CelRule {
    rule: "has(self.subjectNames) ? self.subjectNames[0] == self.subjectName : true",
    message: "subjectNames[0] must equal subjectName if set",
    check: |o| match o
        .get("subjectNames")
        .and_then(Value::as_array)
        .map(|v| v.first())
    {
        // An empty list is already reported by minItems.
        Some(Some(first)) => o.get("subjectName") == Some(first),
        _ => true,
    },
};

/// Every rule above; admission evaluates these (and only these) natively.
pub(crate) const CEL_RULES: [&CelRule; 4] = [
    &RULE_AUTH_HTTP_SETTINGS,
    &RULE_ALLOWED_HEADER_ONE_OF,
    &RULE_JWKS_ONE_OF,
    &RULE_SUBJECT_NAMES,
];
