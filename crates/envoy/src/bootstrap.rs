//! The Envoy bootstrap (`contour bootstrap`): static clusters `contour` (xDS) and `envoy-admin`,
//! the admin Unix socket, the layered runtime and where Envoy fetches LDS/CDS/RTDS from.
//!
//! Rendered as JSON with proto field names, as upstream's protojson output. Pure: files are
//! returned to the caller ([`bootstrap_sds_files`]) rather than written here.

mod tls;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde_json::{Value, json};

pub use tls::{XdsTls, bootstrap_sds_files, check_tls_files};

use crate::names::{
    DYNAMIC_RUNTIME_LAYER_NAME, ENVOY_ADMIN_CLUSTER_NAME, XDS_CLUSTER_NAME,
    admin_cluster_alt_stat_name, xds_cluster_alt_stat_name,
};

/// Where the admin interface writes its access log.
pub const ADMIN_ACCESS_LOG_PATH: &str = "/dev/null";
/// Subdirectory of `--resources-dir` holding the SDS files.
pub const SDS_RESOURCES_SUBDIRECTORY: &str = "sds";
pub const SDS_TLS_CERTIFICATE_FILE: &str = "xds-tls-certificate.json";
pub const SDS_VALIDATION_CONTEXT_FILE: &str = "xds-validation-context.json";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BootstrapError {
    #[error("invalid value {0:?}, cannot be `localhost` or an ip address")]
    InvalidAdminAddress(String),
    #[error(
        "you must supply all TLS parameters - \"--envoy-cafile\", \"--envoy-cert-file\", \"--envoy-key-file\", or none of them"
    )]
    IncompleteTls,
    #[error("{0:?} is empty")]
    EmptyTlsFile(PathBuf),
    #[error("cannot read {path:?}: {reason}")]
    UnreadableTlsFile { path: PathBuf, reason: String },
    #[error("invalid xds-resource-version {0:?}, only \"v3\" is supported")]
    InvalidResourceVersion(String),
    #[error("invalid dns-lookup-family {0:?}, expected one of auto, v4, v6, all")]
    InvalidDnsLookupFamily(String),
    #[error("path {0:?} is not valid UTF-8")]
    NonUtf8Path(PathBuf),
}

/// How Envoy subscribes to LDS, CDS and RTDS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BootstrapMode {
    /// One aggregated stream (`ads_config`) for LDS/CDS/RTDS. Our default.
    #[default]
    Ads,
    /// Upstream's shape: a separate gRPC stream per type, no ADS.
    PerType,
}

/// `--dns-lookup-family` of the `contour` cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DnsLookupFamily {
    #[default]
    Auto,
    V4,
    V6,
    All,
}

impl FromStr for DnsLookupFamily {
    type Err = BootstrapError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" | "" => Ok(Self::Auto),
            "v4" => Ok(Self::V4),
            "v6" => Ok(Self::V6),
            "all" => Ok(Self::All),
            other => Err(BootstrapError::InvalidDnsLookupFamily(other.to_string())),
        }
    }
}

impl DnsLookupFamily {
    /// Envoy's enum name; `None` for AUTO, Envoy's default, which protojson leaves out.
    fn envoy_name(self) -> Option<&'static str> {
        match self {
            Self::Auto => None,
            Self::V4 => Some("V4_ONLY"),
            Self::V6 => Some("V6_ONLY"),
            Self::All => Some("ALL"),
        }
    }
}

/// Settings of `contour bootstrap`. `Default` gives upstream's flag defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapConfig {
    pub xds_address: String,
    pub xds_port: u16,
    /// Unix socket path of Envoy's admin interface.
    pub admin_address: String,
    /// Deprecated upstream; only appears in the `envoy-admin` cluster's `alt_stat_name`.
    pub admin_port: u16,
    pub namespace: String,
    pub dns_lookup_family: DnsLookupFamily,
    /// Must be `v3`.
    pub xds_resource_version: String,
    /// With TLS: write the client certificate as file-based SDS under `<dir>/sds` (rotation).
    pub resources_dir: Option<PathBuf>,
    pub tls: Option<XdsTls>,
    pub mode: BootstrapMode,
    /// `--overload-max-heap`: bytes; enables the fixed-heap overload actions.
    pub overload_max_heap: Option<u64>,
    /// `--overload-downstream-max-conn`: global downstream connection limit.
    pub overload_downstream_max_conn: Option<u64>,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        BootstrapConfig {
            xds_address: "127.0.0.1".to_string(),
            xds_port: 8001,
            admin_address: "/admin/admin.sock".to_string(),
            admin_port: 9001,
            namespace: "projectcontour".to_string(),
            dns_lookup_family: DnsLookupFamily::Auto,
            xds_resource_version: "v3".to_string(),
            resources_dir: None,
            tls: None,
            mode: BootstrapMode::Ads,
            overload_max_heap: None,
            overload_downstream_max_conn: None,
        }
    }
}

/// Checks the settings as upstream does (without touching the file system).
pub fn validate(cfg: &BootstrapConfig) -> Result<(), BootstrapError> {
    let admin = cfg.admin_address.as_str();
    if admin == "localhost" || admin.parse::<IpAddr>().is_ok() {
        return Err(BootstrapError::InvalidAdminAddress(admin.to_string()));
    }
    if cfg.xds_resource_version != "v3" {
        return Err(BootstrapError::InvalidResourceVersion(
            cfg.xds_resource_version.clone(),
        ));
    }
    if let Some(t) = &cfg.tls {
        t.validate()?;
    }
    Ok(())
}

/// Node id written into bootstraps; the node id is never used to partition configuration.
pub const DEFAULT_NODE_ID: &str = "envoy";

/// The bootstrap document Envoy starts with.
pub fn bootstrap_json(cfg: &BootstrapConfig) -> Result<Value, BootstrapError> {
    validate(cfg)?;
    let mut doc = json!({
        "static_resources": { "clusters": [xds_cluster(cfg)?, admin_cluster(cfg)] },
        "dynamic_resources": dynamic_resources(cfg.mode),
        "default_regex_engine": {
            "name": "envoy.regex_engines.google_re2",
            "typed_config": { "@type": "type.googleapis.com/envoy.extensions.regex_engines.v3.GoogleRE2" }
        },
        "admin": {
            "access_log": [file_access_log(ADMIN_ACCESS_LOG_PATH)],
            "address": pipe_address(&cfg.admin_address)
        },
        "layered_runtime": layered_runtime(cfg.mode)
    });
    // Envoy refuses to start gRPC subscriptions without a node id and cluster.
    // `--service-node` and `--service-cluster` (as upstream's Envoy DaemonSet passes them)
    // override these.
    doc["node"] = json!({ "id": DEFAULT_NODE_ID, "cluster": cfg.namespace });
    if let Some(om) = overload_manager(cfg) {
        doc["overload_manager"] = om;
    }
    Ok(doc)
}

/// An API config source: gRPC to the `contour` cluster, v3 transport and resources.
pub fn grpc_config_source() -> Value {
    json!({
        "api_config_source": {
            "api_type": "GRPC",
            "transport_api_version": "V3",
            "grpc_services": [contour_grpc_service()]
        },
        "resource_api_version": "V3"
    })
}

fn contour_grpc_service() -> Value {
    json!({ "envoy_grpc": { "cluster_name": XDS_CLUSTER_NAME, "authority": XDS_CLUSTER_NAME } })
}

/// The config source for LDS/CDS/RTDS in the given mode.
fn dynamic_config_source(mode: BootstrapMode) -> Value {
    match mode {
        BootstrapMode::Ads => json!({ "ads": {}, "resource_api_version": "V3" }),
        BootstrapMode::PerType => grpc_config_source(),
    }
}

fn dynamic_resources(mode: BootstrapMode) -> Value {
    let mut dr = json!({
        "lds_config": dynamic_config_source(mode),
        "cds_config": dynamic_config_source(mode),
    });
    if mode == BootstrapMode::Ads {
        dr["ads_config"] = json!({
            "api_type": "GRPC",
            "transport_api_version": "V3",
            "grpc_services": [contour_grpc_service()]
        });
    }
    dr
}

fn layered_runtime(mode: BootstrapMode) -> Value {
    json!({
        "layers": [
            {
                "name": DYNAMIC_RUNTIME_LAYER_NAME,
                "rtds_layer": { "name": DYNAMIC_RUNTIME_LAYER_NAME, "rtds_config": dynamic_config_source(mode) }
            },
            { "name": "admin", "admin_layer": {} }
        ]
    })
}

/// The static `contour` cluster: HTTP/2 to the xDS server, STATIC for an IP, else STRICT_DNS.
fn xds_cluster(cfg: &BootstrapConfig) -> Result<Value, BootstrapError> {
    let is_ip = cfg.xds_address.parse::<IpAddr>().is_ok();
    let thresholds = |priority: Option<&str>| {
        let mut t = json!({
            "max_connections": 100000,
            "max_pending_requests": 100000,
            "max_requests": 60000000,
            "max_retries": 50,
            "track_remaining": true
        });
        if let Some(p) = priority {
            t["priority"] = json!(p);
        }
        t
    };
    let mut c = json!({
        "name": XDS_CLUSTER_NAME,
        "alt_stat_name": xds_cluster_alt_stat_name(&cfg.namespace, cfg.xds_port),
        "type": if is_ip { "STATIC" } else { "STRICT_DNS" },
        "connect_timeout": "5s",
        "load_assignment": load_assignment(XDS_CLUSTER_NAME, socket_address(&cfg.xds_address, cfg.xds_port)),
        "circuit_breakers": { "thresholds": [thresholds(Some("HIGH")), thresholds(None)] },
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": { "http2_protocol_options": {} }
            }
        },
        "upstream_connection_options": {
            "tcp_keepalive": { "keepalive_probes": 3, "keepalive_time": 30, "keepalive_interval": 5 }
        }
    });
    if let Some(family) = cfg.dns_lookup_family.envoy_name() {
        c["dns_lookup_family"] = json!(family);
    }
    if let Some(t) = &cfg.tls {
        c["transport_socket"] = tls::xds_transport_socket(t, cfg.resources_dir.as_deref())?;
    }
    Ok(c)
}

/// The static `envoy-admin` cluster reaching the admin Unix socket (used by `stats-health`).
fn admin_cluster(cfg: &BootstrapConfig) -> Value {
    json!({
        "name": ENVOY_ADMIN_CLUSTER_NAME,
        "alt_stat_name": admin_cluster_alt_stat_name(&cfg.namespace, cfg.admin_port),
        "type": "STATIC",
        "connect_timeout": "0.250s",
        "load_assignment": load_assignment(ENVOY_ADMIN_CLUSTER_NAME, pipe_address(&cfg.admin_address))
    })
}

fn load_assignment(cluster: &str, address: Value) -> Value {
    json!({
        "cluster_name": cluster,
        "endpoints": [{ "lb_endpoints": [{ "endpoint": { "address": address } }] }]
    })
}

fn socket_address(address: &str, port: u16) -> Value {
    json!({ "socket_address": { "address": address, "port_value": port } })
}

fn pipe_address(path: &str) -> Value {
    json!({ "pipe": { "path": path, "mode": 0o644 } })
}

fn file_access_log(path: &str) -> Value {
    json!({
        "name": "envoy.access_loggers.file",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
            "path": path
        }
    })
}

/// Overload manager when a heap or connection limit is set (refresh every 250 ms).
fn overload_manager(cfg: &BootstrapConfig) -> Option<Value> {
    let heap = cfg.overload_max_heap.filter(|h| *h > 0);
    let conns = cfg.overload_downstream_max_conn.filter(|c| *c > 0);
    if heap.is_none() && conns.is_none() {
        return None;
    }
    let mut monitors = Vec::new();
    let mut actions = Vec::new();
    if let Some(max) = heap {
        monitors.push(json!({
            "name": "envoy.resource_monitors.fixed_heap",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig",
                "max_heap_size_bytes": max.to_string()
            }
        }));
        for (name, value) in [
            ("envoy.overload_actions.shrink_heap", 0.95),
            ("envoy.overload_actions.stop_accepting_requests", 0.98),
        ] {
            actions.push(json!({
                "name": name,
                "triggers": [{ "name": "envoy.resource_monitors.fixed_heap", "threshold": { "value": value } }]
            }));
        }
    }
    if let Some(max) = conns {
        monitors.push(json!({
            "name": "envoy.resource_monitors.global_downstream_max_connections",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig",
                "max_active_downstream_connections": max.to_string()
            }
        }));
    }
    let mut om = json!({ "refresh_interval": "0.250s", "resource_monitors": monitors });
    if !actions.is_empty() {
        om["actions"] = json!(actions);
    }
    Some(om)
}

fn path_str(p: &Path) -> Result<&str, BootstrapError> {
    p.to_str()
        .ok_or_else(|| BootstrapError::NonUtf8Path(p.to_path_buf()))
}

#[cfg(test)]
mod tests;
