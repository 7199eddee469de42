//! Header values for Envoy's header formatter: `%` starts a variable, so every `%` a user writes
//! is escaped unless it spells one of upstream's allowed variables or `%REQ(header)%`.
//! Also Go's canonical header names (`x-foo` → `X-Foo`), which upstream uses as map keys.

use std::sync::LazyLock;

use regex::Regex;

/// Envoy variables upstream lets through unescaped.
const ALLOWED_VARS: &[&str] = &[
    "DOWNSTREAM_REMOTE_ADDRESS",
    "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT",
    "DOWNSTREAM_LOCAL_ADDRESS",
    "DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT",
    "DOWNSTREAM_LOCAL_PORT",
    "DOWNSTREAM_LOCAL_URI_SAN",
    "DOWNSTREAM_PEER_URI_SAN",
    "DOWNSTREAM_LOCAL_SUBJECT",
    "DOWNSTREAM_PEER_SUBJECT",
    "DOWNSTREAM_PEER_ISSUER",
    "DOWNSTREAM_TLS_SESSION_ID",
    "DOWNSTREAM_TLS_CIPHER",
    "DOWNSTREAM_TLS_VERSION",
    "DOWNSTREAM_PEER_FINGERPRINT_256",
    "DOWNSTREAM_PEER_FINGERPRINT_1",
    "DOWNSTREAM_PEER_SERIAL",
    "DOWNSTREAM_PEER_CERT",
    "DOWNSTREAM_PEER_CERT_V_START",
    "DOWNSTREAM_PEER_CERT_V_END",
    "HOSTNAME",
    "PROTOCOL",
    "UPSTREAM_REMOTE_ADDRESS",
    "RESPONSE_FLAGS",
    "RESPONSE_CODE_DETAILS",
    "TLS_JA3_FINGERPRINT",
    "TLS_JA4_FINGERPRINT",
];

/// `%%REQ(name)%%` after escaping, with an optional alternative header and length limit.
static REQ_VAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"%(%REQ\(:?[\w-]+(\?:?[\w-]+)?\)(:\d+)?%)%").expect("static regex")
});

/// Escapes `%` except around allowed variables; `dynamic` replaces Contour's own variables
/// (`CONTOUR_NAMESPACE`...) by their value.
pub fn escape_header_value(value: &str, dynamic: &[(&str, &str)]) -> String {
    if !value.contains('%') {
        return value.to_string();
    }
    let mut escaped = value.replace('%', "%%");
    for (var, replacement) in dynamic {
        escaped = escaped.replace(&format!("%%{var}%%"), replacement);
    }
    for var in ALLOWED_VARS {
        escaped = escaped.replace(&format!("%%{var}%%"), &format!("%{var}%"));
    }
    REQ_VAR.replace_all(&escaped, "$1").into_owned()
}

/// Go's `http.CanonicalHeaderKey`: the first letter and letters after `-` upper-cased, the rest
/// lower-cased. Names with a space or a byte that is not a token character are returned as is.
pub fn canonical_header_key(name: &str) -> String {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if !name.bytes().all(token) {
        return name.to_string();
    }
    let mut upper = true;
    name.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

/// Kubernetes' `IsHTTPHeaderName`, as upstream reports it: `None` when valid.
pub fn http_header_name_error(name: &str) -> Option<String> {
    let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    (!valid).then(|| {
        "[a valid HTTP header must consist of alphanumeric characters or '-' (e.g. \
         'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')]"
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        let cases = [
            ("plain", "plain"),
            ("100%", "100%%"),
            ("%HOSTNAME%", "%HOSTNAME%"),
            ("%hostname%", "%%hostname%%"),
            ("%REQ(x-foo)%", "%REQ(x-foo)%"),
            ("%REQ(x-foo?x-bar):10%", "%REQ(x-foo?x-bar):10%"),
            ("%START_TIME%", "%%START_TIME%%"),
            ("%CONTOUR_NAMESPACE%", "%%CONTOUR_NAMESPACE%%"),
        ];
        for (input, want) in cases {
            assert_eq!(escape_header_value(input, &[]), want, "{input}");
        }
        assert_eq!(
            escape_header_value("ns=%CONTOUR_NAMESPACE%", &[("CONTOUR_NAMESPACE", "team")]),
            "ns=team"
        );
    }

    #[test]
    fn canonical_keys() {
        assert_eq!(canonical_header_key("x-foo-BAR"), "X-Foo-Bar");
        assert_eq!(canonical_header_key("retry-after"), "Retry-After");
        assert_eq!(canonical_header_key("has space"), "has space");
        assert!(http_header_name_error("X-Foo").is_none());
        assert!(http_header_name_error("X_Foo").is_some());
    }
}
