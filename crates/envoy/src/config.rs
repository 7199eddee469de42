//! Translator settings: the Envoy-facing knobs of `contour serve` and contour.yaml.
//! `Default` gives upstream Contour's defaults.

use std::collections::BTreeMap;
use std::time::Duration;

/// Settings the translator needs beyond the DAG. Later contour.yaml knobs land here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranslateConfig {
    /// Address and port of the static `stats-health` listener (`--stats-address/--stats-port`).
    pub stats_address: String,
    pub stats_port: u16,
    /// File the `ingress_http` access log is written to (`--envoy-http-access-log`).
    pub http_access_log_path: String,
    /// File the `ingress_https` access log is written to (`--envoy-https-access-log`).
    pub https_access_log_path: String,
    /// HCM `common_http_protocol_options.idle_timeout` (`timeouts.connection-idle-timeout`).
    /// `None` leaves Envoy's default.
    pub connection_idle_timeout: Option<Duration>,
    /// HCM `merge_slashes` (`!disableMergeSlashes`).
    pub merge_slashes: bool,
    /// HTTP/1 `allow_chunked_length` (`!disableAllowChunkedLength`).
    pub allow_chunked_length: bool,
    /// HCM `xff_num_trusted_hops` (`num-trusted-hops`).
    pub xff_num_trusted_hops: u32,
    /// Add the gzip compressor filter (`compression.algorithm` other than `disabled`).
    pub compression: Compression,
    /// Extra Envoy runtime keys for the `dynamic` RTDS layer (contour.yaml `runtime-settings`).
    pub runtime_settings: BTreeMap<String, String>,
    /// contour.yaml `default-http-versions`: HCM codec and downstream ALPN. Empty = both.
    pub default_http_versions: Vec<HttpVersion>,
    /// contour.yaml `tls.*`: downstream TLS parameters of `ingress_https`.
    pub tls: TlsParams,
    /// contour.yaml `cluster.upstream-tls.*`: TLS parameters towards backends. `None` leaves
    /// Envoy's defaults.
    pub upstream_tls: Option<TlsParams>,
}

/// An HTTP version of `default-http-versions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HttpVersion {
    Http1,
    Http2,
}

/// TLS protocol versions, cipher suites and ECDH curves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsParams {
    /// `"1.2"` or `"1.3"`.
    pub minimum_protocol_version: String,
    pub maximum_protocol_version: String,
    pub cipher_suites: Vec<String>,
    pub ecdh_curves: Vec<String>,
}

/// Upstream's default cipher suites (BoringSSL names, `[a|b]` = equal preference).
pub const DEFAULT_CIPHER_SUITES: &[&str] = &[
    "[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]",
    "[ECDHE-RSA-AES128-GCM-SHA256|ECDHE-RSA-CHACHA20-POLY1305]",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
];

impl Default for TlsParams {
    fn default() -> Self {
        TlsParams {
            minimum_protocol_version: "1.2".to_string(),
            maximum_protocol_version: "1.3".to_string(),
            cipher_suites: DEFAULT_CIPHER_SUITES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ecdh_curves: Vec::new(),
        }
    }
}

/// Response compression algorithm of the default HTTP filter chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    #[default]
    Gzip,
    Disabled,
}

impl Default for TranslateConfig {
    fn default() -> Self {
        TranslateConfig {
            stats_address: "0.0.0.0".to_string(),
            stats_port: 8002,
            http_access_log_path: "/dev/stdout".to_string(),
            https_access_log_path: "/dev/stdout".to_string(),
            connection_idle_timeout: Some(Duration::from_secs(60)),
            merge_slashes: true,
            allow_chunked_length: true,
            xff_num_trusted_hops: 0,
            compression: Compression::Gzip,
            runtime_settings: BTreeMap::new(),
            default_http_versions: Vec::new(),
            tls: TlsParams::default(),
            upstream_tls: None,
        }
    }
}
