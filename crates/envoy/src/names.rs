//! Compatibility names of the Envoy resources we emit, kept identical to upstream Contour's
//! (listener, route configuration, cluster, virtual host and static resource names).
//!
//! Dashboards, access-log formats and `contour cli` users depend on these strings, so every one
//! of them is pinned by a test using upstream's own examples.

use contour_dag::{Cluster, ServiceCluster};
use sha1::{Digest as _, Sha1};
use sha2::Sha256;

/// The xDS gRPC cluster every dynamic config source points at (bootstrap static cluster).
pub const XDS_CLUSTER_NAME: &str = "contour";
/// The static bootstrap cluster reaching Envoy's admin interface over its Unix socket.
pub const ENVOY_ADMIN_CLUSTER_NAME: &str = "envoy-admin";
/// Plain HTTP listener, its HCM stat prefix and its route configuration.
pub const HTTP_LISTENER_NAME: &str = "ingress_http";
/// TLS listener.
pub const HTTPS_LISTENER_NAME: &str = "ingress_https";
/// Route configuration for the fallback-certificate filter chain.
pub const FALLBACK_CERT_ROUTE_CONFIG_NAME: &str = "ingress_fallbackcert";
/// Static listener serving `/ready`, `/stats` and `/stats/prometheus` on one address.
pub const STATS_HEALTH_LISTENER_NAME: &str = "stats-health";
/// HCM stat prefix of the static stats/health listeners.
pub const STATS_STAT_PREFIX: &str = "stats";
/// Name of the RTDS runtime layer and resource.
pub const DYNAMIC_RUNTIME_LAYER_NAME: &str = "dynamic";
/// Limit upstream passes to `Hashname` for cluster, secret and virtual host names.
pub const NAME_LIMIT: usize = 60;

/// Length of the sha256 suffix `hashname` appends to truncated elements.
const SHORT_HASH: usize = 6;

/// Joins `parts` with `/`; when the result is not shorter than `limit`, truncates the parts
/// from the last one backwards, replacing each one's tail with `-<sha256(joined)[..6]>`, until
/// it fits; if nothing fits, returns the hash itself cut to `limit`.
///
/// Byte-for-byte the behaviour of upstream's `envoy.Hashname` for ASCII input (Kubernetes names
/// and hostnames are ASCII). For other input it never splits a UTF-8 character.
pub fn hashname(limit: usize, parts: &[&str]) -> String {
    let joined = parts.join("/");
    if limit > joined.len() || parts.is_empty() {
        return joined;
    }
    let hash = hex::encode(Sha256::digest(joined.as_bytes()));
    let short = &hash[..SHORT_HASH];
    let per_part = limit / parts.len();
    let mut owned: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
    for i in (0..owned.len()).rev() {
        owned[i] = truncate(per_part, &owned[i], short);
        let candidate = owned.join("/");
        if limit > candidate.len() {
            return candidate;
        }
    }
    hash[..limit.min(hash.len())].to_string()
}

/// Cuts `s` to `limit` bytes, its tail replaced by `-<suffix>`.
fn truncate(limit: usize, s: &str, suffix: &str) -> String {
    if limit >= s.len() {
        return s.to_string();
    }
    if limit <= suffix.len() {
        return suffix[..limit.min(suffix.len())].to_string();
    }
    let keep = floor_char_boundary(s, limit - suffix.len() - 1);
    format!("{}-{}", &s[..keep], suffix)
}

fn floor_char_boundary(s: &str, mut at: usize) -> usize {
    while at > 0 && !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// CDS name of a cluster: `hashname(60, ns, svc, port, sha1(policy)[..5 bytes] hex)`,
/// e.g. `default/kuard/80/da39a3ee5e` for a cluster without policies.
pub fn cluster_name(cluster: &Cluster) -> String {
    cluster_name_from_parts(&cluster.service, &cluster.policy_key())
}

/// [`cluster_name`] from a service port and the policy buffer upstream hashes.
pub fn cluster_name_from_parts(service: &ServiceCluster, policy_buf: &str) -> String {
    let digest = Sha1::digest(policy_buf.as_bytes());
    let suffix = hex::encode(&digest[..5]);
    let port = service.port.to_string();
    hashname(
        NAME_LIMIT,
        &[&service.namespace, &service.name, &port, &suffix],
    )
}

/// SDS name of a certificate: `hashname(60, ns, name, sha1(cert chain PEM)[..5 bytes] hex)`,
/// so a renewed certificate gets a new name (Envoy then swaps it atomically).
pub fn secret_name(secret: &contour_dag::Secret) -> String {
    secret_name_of(&secret.namespace, &secret.name, &secret.cert_chain)
}

/// [`secret_name`] of the certificate `cert_chain` of Secret `namespace/name`.
pub fn secret_name_of(namespace: &str, name: &str, cert_chain: &[u8]) -> String {
    let digest = Sha1::digest(cert_chain);
    let suffix = hex::encode(&digest[..5]);
    hashname(NAME_LIMIT, &[namespace, name, &suffix])
}

/// Name of the fallback-certificate filter chain on `ingress_https`.
pub const FALLBACK_CERT_FILTER_CHAIN_NAME: &str = "fallback-certificate";

/// Cluster `alt_stat_name`: `<ns>_<svc>_<port>`.
pub fn alt_stat_name(service: &ServiceCluster) -> String {
    format!("{}_{}_{}", service.namespace, service.name, service.port)
}

/// EDS service name (ClusterLoadAssignment name) of a service port.
pub fn eds_service_name(service: &ServiceCluster) -> String {
    service.eds_name()
}

/// Envoy virtual host name for an fqdn.
pub fn virtual_host_name(fqdn: &str) -> String {
    hashname(NAME_LIMIT, &[fqdn])
}

/// Route configuration of a TLS virtual host: `https/<fqdn>`.
pub fn https_route_config_name(fqdn: &str) -> String {
    format!("https/{fqdn}")
}

/// `alt_stat_name` of the bootstrap `contour` cluster: `<ns>_contour_<port>`.
pub fn xds_cluster_alt_stat_name(namespace: &str, port: u16) -> String {
    format!("{namespace}_{XDS_CLUSTER_NAME}_{port}")
}

/// `alt_stat_name` of the bootstrap `envoy-admin` cluster: `<ns>_envoy-admin_<admin port>`.
pub fn admin_cluster_alt_stat_name(namespace: &str, admin_port: u16) -> String {
    format!("{namespace}_{ENVOY_ADMIN_CLUSTER_NAME}_{admin_port}")
}

#[cfg(test)]
mod tests;
