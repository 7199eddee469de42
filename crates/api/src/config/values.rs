//! Scalar values of contour.yaml: the enumerations (with upstream's spellings) and the
//! `deserialize_with` checks that make a bad value fail while parsing, so the error carries the
//! key path and the line.

use std::collections::BTreeMap;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

use super::accesslog;
use crate::duration::{TimeoutSetting, parse_go_duration};

/// `accesslog-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessLogFormat {
    #[default]
    Envoy,
    Json,
}

/// `accesslog-level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessLogLevel {
    #[default]
    Info,
    Error,
    Critical,
    Disabled,
}

/// `compression.algorithm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CompressionAlgorithm {
    #[default]
    Gzip,
    Brotli,
    Zstd,
    Disabled,
}

/// `serverHeaderTransformation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerHeaderTransformation {
    #[default]
    Overwrite,
    AppendIfAbsent,
    PassThrough,
}

/// `cluster.dns-lookup-family`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DnsLookupFamily {
    #[default]
    Auto,
    V4,
    V6,
    All,
}

/// `default-http-versions` entries. Upstream lower-cases them before checking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum HttpVersion {
    #[serde(rename = "HTTP/1.1")]
    Http1,
    #[serde(rename = "HTTP/2")]
    Http2,
}

impl HttpVersion {
    /// Reads `HTTP/1.1` or `HTTP/2`, in any case.
    pub fn parse(s: &str) -> Option<HttpVersion> {
        match s.to_ascii_lowercase().as_str() {
            "http/1.1" => Some(HttpVersion::Http1),
            "http/2" => Some(HttpVersion::Http2),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for HttpVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        HttpVersion::parse(&s)
            .ok_or_else(|| D::Error::custom(format!("invalid HTTP version {s:?}")))
    }
}

/// Ciphers Envoy's TLS listeners accept (upstream's allow-list).
pub const VALID_TLS_CIPHERS: &[&str] = &[
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES128-SHA",
    "ECDHE-RSA-AES128-SHA",
    "AES128-GCM-SHA256",
    "AES128-SHA",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-AES256-SHA",
    "ECDHE-RSA-AES256-SHA",
    "AES256-GCM-SHA384",
    "AES256-SHA",
];

/// Upstream's default cipher list.
pub const DEFAULT_TLS_CIPHERS: &[&str] = &[
    "[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]",
    "[ECDHE-RSA-AES128-GCM-SHA256|ECDHE-RSA-CHACHA20-POLY1305]",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
];

/// ECDH curves upstream accepts.
pub const VALID_ECDH_CURVES: &[&str] = &[
    "X25519",
    "P-256",
    "P-384",
    "P-521",
    "X25519MLKEM768",
    "MLKEM1024",
];

/// A cipher or an equal-preference group `[a|b]` of allowed ciphers.
pub fn is_valid_cipher(spec: &str) -> bool {
    match spec.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        Some(group) => group.split('|').all(|c| VALID_TLS_CIPHERS.contains(&c)),
        None => VALID_TLS_CIPHERS.contains(&spec),
    }
}

/// `""`, `1.2` or `1.3`.
pub fn check_tls_version(v: &str) -> Result<(), String> {
    match v {
        "" | "1.2" | "1.3" => Ok(()),
        _ => Err(format!("invalid TLS protocol version {v:?}")),
    }
}

/// An HTTP header name (an RFC 7230 token), as Kubernetes' `IsHTTPHeaderName` checks it.
pub fn is_http_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A timeout: empty, `infinity`/`infinite`, or a Go duration.
pub(crate) fn timeout<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    TimeoutSetting::parse(&s).map_err(D::Error::custom)?;
    Ok(s)
}

/// A Go duration (no `infinity`), or empty.
pub(crate) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if !s.is_empty() {
        parse_go_duration(&s).map_err(D::Error::custom)?;
    }
    Ok(s)
}

/// A count that must be at least 1 when set.
pub(crate) fn positive<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    match Option::<u32>::deserialize(d)? {
        Some(0) => Err(D::Error::custom("invalid value 0, minimum value is 1")),
        v => Ok(v),
    }
}

/// A TOS / traffic class byte.
pub(crate) fn byte_value<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    let v = i32::deserialize(d)?;
    if !(0..=255).contains(&v) {
        return Err(D::Error::custom(format!(
            "invalid value {v}, must be in the range 0-255"
        )));
    }
    Ok(v)
}

/// `listener.connection-balancer`: empty or `exact`.
pub(crate) fn connection_balancer<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if !s.is_empty() && s != "exact" {
        return Err(D::Error::custom(format!(
            "invalid listener connection balancer value {s:?}, only 'exact' connection balancing is supported for now"
        )));
    }
    Ok(s)
}

/// `minimum-protocol-version` / `maximum-protocol-version`.
pub(crate) fn tls_version<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    check_tls_version(&s).map_err(D::Error::custom)?;
    Ok(s)
}

/// `cipher-suites`.
pub(crate) fn ciphers<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let list = Vec::<String>::deserialize(d)?;
    let bad: Vec<&String> = list.iter().filter(|c| !is_valid_cipher(c)).collect();
    if !bad.is_empty() {
        return Err(D::Error::custom(format!("invalid cipher suites {bad:?}")));
    }
    Ok(list)
}

/// `ecdh-curves`.
pub(crate) fn curves<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let list = Vec::<String>::deserialize(d)?;
    let bad: Vec<&String> = list
        .iter()
        .filter(|c| !VALID_ECDH_CURVES.contains(&c.as_str()))
        .collect();
    if !bad.is_empty() {
        return Err(D::Error::custom(format!("invalid ECDH curves {bad:?}")));
    }
    Ok(list)
}

/// `json-fields`.
pub(crate) fn json_fields<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let list = Vec::<String>::deserialize(d)?;
    accesslog::json_field_map(&list).map_err(D::Error::custom)?;
    Ok(list)
}

/// `accesslog-format-string`.
pub(crate) fn format_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    accesslog::validate_format_string(&s).map_err(D::Error::custom)?;
    Ok(s)
}

/// `set:` of a headers policy: header names must be valid.
pub(crate) fn header_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let map = BTreeMap::<String, String>::deserialize(d)?;
    if let Some(bad) = map.keys().find(|k| !is_http_header_name(k)) {
        return Err(D::Error::custom(format!("invalid header name {bad:?}")));
    }
    Ok(map)
}

/// `remove:` of a headers policy.
pub(crate) fn header_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let list = Vec::<String>::deserialize(d)?;
    if let Some(bad) = list.iter().find(|k| !is_http_header_name(k)) {
        return Err(D::Error::custom(format!("invalid header name {bad:?}")));
    }
    Ok(list)
}
