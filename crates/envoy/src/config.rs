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
        }
    }
}
