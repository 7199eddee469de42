//! Resolving Service references to a port.

use crate::cache::{Cache, CachedService};

use crate::builder::BuildConfig;
use crate::model::{HealthPort, ServiceCluster};
use crate::service_policy;

/// How a backend names the Service port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortRef<'a> {
    Number(i32),
    Name(&'a str),
}

/// Why a Service reference does not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    NotFound {
        namespace: String,
        name: String,
    },
    PortNotFound {
        namespace: String,
        name: String,
        port: String,
    },
}

impl std::fmt::Display for LookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LookupError::NotFound { namespace, name } => {
                write!(f, "service \"{namespace}/{name}\" not found")
            }
            LookupError::PortNotFound {
                namespace,
                name,
                port,
            } => write!(
                f,
                "port \"{port}\" on service \"{namespace}/{name}\" not matched"
            ),
        }
    }
}

/// Finds the port of `svc` that `port` names and returns the cluster for it.
pub fn resolve(
    svc: Option<&CachedService>,
    namespace: &str,
    name: &str,
    port: PortRef<'_>,
) -> Result<ServiceCluster, LookupError> {
    let svc = svc.ok_or_else(|| LookupError::NotFound {
        namespace: namespace.to_string(),
        name: name.to_string(),
    })?;
    let ports = svc.spec.iter().flat_map(|s| s.ports.iter().flatten());
    let found = ports
        .filter(|p| p.protocol.as_deref().unwrap_or("TCP") == "TCP")
        .find(|p| match port {
            PortRef::Number(n) => p.port == n,
            PortRef::Name(n) => p.name.as_deref() == Some(n),
        });
    let p = found.ok_or_else(|| LookupError::PortNotFound {
        namespace: namespace.to_string(),
        name: name.to_string(),
        port: match port {
            PortRef::Number(n) => n.to_string(),
            PortRef::Name(n) => n.to_string(),
        },
    })?;
    Ok(ServiceCluster {
        namespace: namespace.to_string(),
        name: name.to_string(),
        port: u16::try_from(p.port).unwrap_or(0),
        port_name: p.name.clone().unwrap_or_default(),
        health_port: None,
    })
}

/// Upstream's health port: with a health check policy, a `healthPort` other than the traffic
/// port must name a port of the same Service; health checks then go there.
pub fn resolve_health_port(
    svc: Option<&CachedService>,
    cluster: &mut ServiceCluster,
    health_port: Option<i32>,
) -> Result<(), LookupError> {
    let Some(hp) = health_port.filter(|p| *p > 0 && *p != i32::from(cluster.port)) else {
        return Ok(());
    };
    let found = resolve(svc, &cluster.namespace, &cluster.name, PortRef::Number(hp))?;
    cluster.health_port = Some(HealthPort {
        port: found.port,
        name: found.port_name,
    });
    Ok(())
}

/// Upstream's last step of resolving a Service: an ExternalName Service must be enabled and
/// must not point at Envoy itself (the message is upstream's, see [`service_policy`]).
pub fn check_external_name(
    svc: Option<&CachedService>,
    cfg: &BuildConfig,
    cluster: ServiceCluster,
) -> Result<ServiceCluster, String> {
    match svc.map(|s| service_policy::external_name(s, cfg.enable_external_name_service)) {
        Some(Err(reason)) => Err(reason),
        _ => Ok(cluster),
    }
}

/// An HTTPProxy backend (a route's or a TCPProxy's service in `namespace`) resolved as upstream
/// resolves it: the port by number, then the health port when the backend is health checked,
/// then the ExternalName checks.
pub fn resolve_proxy_backend(
    cache: &Cache,
    cfg: &BuildConfig,
    namespace: &str,
    backend: &ProxyBackend,
) -> Result<ServiceCluster, String> {
    let svc = cache.service(namespace, backend.name);
    let mut cluster = resolve(svc, namespace, backend.name, PortRef::Number(backend.port))
        .map_err(|e| e.to_string())?;
    if backend.health_checked {
        resolve_health_port(svc, &mut cluster, backend.health_port).map_err(|e| e.to_string())?;
    }
    check_external_name(svc, cfg, cluster)
}

/// What [`resolve_proxy_backend`] needs of an HTTPProxy backend.
pub struct ProxyBackend<'a> {
    pub name: &'a str,
    pub port: i32,
    pub health_port: Option<i32>,
    /// Whether a health check policy applies (only then is the health port resolved).
    pub health_checked: bool,
}
