//! Translator settings: the Envoy-facing knobs of `contour serve` and contour.yaml /
//! ContourConfiguration. `Default` gives upstream Contour's defaults.

use std::collections::BTreeMap;
use std::time::Duration;

pub use contour_api::duration::TimeoutSetting;

/// Settings the translator needs beyond the DAG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranslateConfig {
    /// Address and port Envoy serves its metrics on (`--stats-address/--stats-port`,
    /// `metrics.envoy`).
    pub stats_address: String,
    pub stats_port: u16,
    /// Address and port of Envoy's `/ready` (`envoy.health`; the stats flags in file mode).
    /// Equal to the metrics address and port, one `stats-health` listener serves both.
    pub health_address: String,
    pub health_port: u16,
    /// Metrics over TLS: files Envoy reads, delivered as SDS secrets (`metrics.envoy.*-path`).
    pub metrics_tls: Option<MetricsTls>,
    /// The `health-om-enforced` listener (`omEnforcedHealthListener`).
    pub om_enforced_health: Option<(String, u16)>,
    /// The read-only `envoy-admin` listener on 127.0.0.1 (`network.admin-port`); 0: none.
    pub admin_port: u16,
    /// File the `ingress_http` access log is written to (`--envoy-http-access-log`).
    pub http_access_log_path: String,
    /// File the `ingress_https` access log is written to (`--envoy-https-access-log`).
    pub https_access_log_path: String,
    /// Access log format and level (`accesslog-*`, `json-fields`).
    pub access_log: AccessLogSettings,
    /// HCM `common_http_protocol_options.idle_timeout` (`timeouts.connection-idle-timeout`).
    pub connection_idle_timeout: TimeoutSetting,
    /// The other HCM timeouts (`timeouts.*`).
    pub timeouts: HcmTimeouts,
    /// Cluster `connect_timeout` (`timeouts.connect-timeout`, default 2s).
    pub connect_timeout: Duration,
    /// HCM `merge_slashes` (`!disableMergeSlashes`).
    pub merge_slashes: bool,
    /// HTTP/1 `allow_chunked_length` (`!disableAllowChunkedLength`).
    pub allow_chunked_length: bool,
    /// HCM `xff_num_trusted_hops` (`num-trusted-hops`).
    pub xff_num_trusted_hops: u32,
    /// HCM `strip_trailing_host_dot` (`network.strip-trailing-host-dot`).
    pub strip_trailing_host_dot: bool,
    /// HCM `server_header_transformation` (`serverHeaderTransformation`).
    pub server_header_transformation: ServerHeaderTransformation,
    /// Response compression of the default HTTP filter chain (`compression.algorithm`).
    pub compression: Compression,
    /// The `proxy_protocol` listener filter on ingress listeners (`--use-proxy-protocol`).
    pub use_proxy_protocol: bool,
    /// Ingress listener settings (`listener.*`).
    pub listener: ListenerSettings,
    /// Upstream cluster settings (`cluster.*`).
    pub cluster: ClusterSettings,
    /// Extra Envoy runtime keys for the `dynamic` RTDS layer (contour.yaml `runtime-settings`).
    pub runtime_settings: BTreeMap<String, String>,
    /// contour.yaml `default-http-versions`: HCM codec and downstream ALPN. Empty = both.
    pub default_http_versions: Vec<HttpVersion>,
    /// contour.yaml `tls.*`: downstream TLS parameters of `ingress_https`.
    pub tls: TlsParams,
    /// contour.yaml `cluster.upstream-tls.*`: TLS parameters towards backends. `None` leaves
    /// Envoy's defaults.
    pub upstream_tls: Option<TlsParams>,
    /// `contour serve --http-route-scopes N` (beyond upstream): the plain HTTP listener's
    /// hosts spread over N route configurations (see [`crate::scopes`]); 0: one
    /// `ingress_http`, as upstream.
    pub http_route_scopes: u16,
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

/// Certificate files of Envoy's metrics listener.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsTls {
    pub cert_file: String,
    pub key_file: String,
    /// When set, clients must present a certificate signed by this CA.
    pub ca_file: String,
}

/// Response compression algorithm of the default HTTP filter chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    #[default]
    Gzip,
    Brotli,
    Zstd,
    Disabled,
}

/// What Envoy does with the upstream's `Server` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServerHeaderTransformation {
    #[default]
    Overwrite,
    AppendIfAbsent,
    PassThrough,
}

/// HCM timeouts besides the connection idle timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HcmTimeouts {
    pub request: TimeoutSetting,
    pub stream_idle: TimeoutSetting,
    pub max_connection_duration: TimeoutSetting,
    pub delayed_close: TimeoutSetting,
    /// HCM `drain_timeout`.
    pub connection_shutdown_grace_period: TimeoutSetting,
}

/// Access log settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessLogSettings {
    pub format: AccessLogFormat,
    pub level: AccessLogLevel,
}

impl AccessLogSettings {
    /// Whether the access log reads the route's metadata (`%METADATA(ROUTE:...)%`, as the
    /// `contour_config_*` JSON fields do). Nothing else Contour configures reads it, so routes
    /// carry their source object only when this holds.
    pub fn reads_route_metadata(&self) -> bool {
        if self.level == AccessLogLevel::Disabled {
            return false;
        }
        contour_api::config::accesslog::reads_route_metadata(self.format.formats())
    }
}

/// How access log lines look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessLogFormat {
    /// Envoy's text format; `Some` replaces Envoy's default format string.
    Envoy(Option<String>),
    /// One JSON object per line: field name → Envoy format.
    Json(BTreeMap<String, String>),
}

impl AccessLogFormat {
    /// The Envoy format strings it is made of (none for Envoy's default format).
    pub fn formats(&self) -> Vec<&str> {
        match self {
            AccessLogFormat::Envoy(None) => Vec::new(),
            AccessLogFormat::Envoy(Some(text)) => vec![text.as_str()],
            AccessLogFormat::Json(fields) => fields.values().map(String::as_str).collect(),
        }
    }
}

impl Default for AccessLogFormat {
    fn default() -> Self {
        AccessLogFormat::Envoy(None)
    }
}

/// Which requests are logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccessLogLevel {
    #[default]
    Info,
    /// Status ≥ 300 or any response flag.
    Error,
    /// Status ≥ 500 or any response flag.
    Critical,
    Disabled,
}

/// `listener.*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListenerSettings {
    pub connection_balancer_exact: bool,
    pub max_requests_per_connection: Option<u32>,
    pub per_connection_buffer_limit_bytes: Option<u32>,
    /// IPv4 TOS byte (0: unset).
    pub tos: u8,
    /// IPv6 traffic class byte (0: unset).
    pub traffic_class: u8,
    /// RTDS `http.max_requests_per_io_cycle`.
    pub max_requests_per_io_cycle: Option<u32>,
    pub http2_max_concurrent_streams: Option<u32>,
    /// RTDS `envoy.resource_limits.listener.<name>.connection_limit`.
    pub max_connections_per_listener: Option<u32>,
    pub max_connections_to_accept_per_socket_event: Option<u32>,
}

/// `cluster.*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClusterSettings {
    pub dns_lookup_family: DnsFamily,
    pub max_requests_per_connection: Option<u32>,
    pub per_connection_buffer_limit_bytes: Option<u32>,
    /// Global circuit breaker defaults; Service annotations override them per field.
    pub circuit_breakers: CircuitBreakerSettings,
}

/// DNS lookup family of DNS clusters (ExternalName Services).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DnsFamily {
    #[default]
    Auto,
    V4,
    V6,
    All,
}

/// Circuit breaker thresholds; `None` leaves Envoy's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord, Hash)]
pub struct CircuitBreakerSettings {
    pub max_connections: Option<u32>,
    pub max_pending_requests: Option<u32>,
    pub max_requests: Option<u32>,
    pub max_retries: Option<u32>,
    pub per_host_max_connections: Option<u32>,
}

impl CircuitBreakerSettings {
    pub fn is_empty(&self) -> bool {
        *self == CircuitBreakerSettings::default()
    }

    /// `self`'s values where set, else `defaults`'.
    pub fn or(&self, defaults: &CircuitBreakerSettings) -> CircuitBreakerSettings {
        CircuitBreakerSettings {
            max_connections: self.max_connections.or(defaults.max_connections),
            max_pending_requests: self.max_pending_requests.or(defaults.max_pending_requests),
            max_requests: self.max_requests.or(defaults.max_requests),
            max_retries: self.max_retries.or(defaults.max_retries),
            per_host_max_connections: self
                .per_host_max_connections
                .or(defaults.per_host_max_connections),
        }
    }
}

/// Upstream's default cluster connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Upstream's default `network.admin-port`.
pub const DEFAULT_ADMIN_PORT: u16 = 9001;

impl Default for TranslateConfig {
    fn default() -> Self {
        TranslateConfig {
            stats_address: "0.0.0.0".to_string(),
            stats_port: 8002,
            health_address: "0.0.0.0".to_string(),
            health_port: 8002,
            metrics_tls: None,
            om_enforced_health: None,
            admin_port: DEFAULT_ADMIN_PORT,
            http_access_log_path: "/dev/stdout".to_string(),
            https_access_log_path: "/dev/stdout".to_string(),
            access_log: AccessLogSettings::default(),
            connection_idle_timeout: TimeoutSetting::Duration(Duration::from_secs(60)),
            timeouts: HcmTimeouts::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            merge_slashes: true,
            allow_chunked_length: true,
            xff_num_trusted_hops: 0,
            strip_trailing_host_dot: false,
            server_header_transformation: ServerHeaderTransformation::Overwrite,
            compression: Compression::Gzip,
            use_proxy_protocol: false,
            listener: ListenerSettings::default(),
            cluster: ClusterSettings::default(),
            runtime_settings: BTreeMap::new(),
            default_http_versions: Vec::new(),
            tls: TlsParams::default(),
            upstream_tls: None,
            http_route_scopes: 0,
        }
    }
}
