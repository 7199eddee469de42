//! Extension clusters: what a valid ExtensionService becomes (an EDS cluster Envoy calls out
//! to for external authorization, rate limiting or tracing).

use crate::duration::Timeout;
use crate::model::{CircuitBreakers, Secret, ServiceCluster, UpstreamValidation};

/// Upstream's prefix of extension cluster and EDS names.
pub const EXTENSION_PREFIX: &str = "extension";

/// The cluster (and EDS) name of ExtensionService `ns/name`: `extension/<ns>/<name>`. The
/// namespaced name is unique, so no hash is needed; a field change keeps the name.
pub fn extension_cluster_name(namespace: &str, name: &str) -> String {
    format!("{EXTENSION_PREFIX}/{namespace}/{name}")
}

/// One ExtensionService as an Envoy cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtensionCluster {
    /// `extension/<ns>/<name>`, also the EDS service name.
    pub name: String,
    /// The Service ports receiving the traffic, with their weights, in declaration order.
    pub services: Vec<WeightedService>,
    /// `h2` (TLS, the default), `h2c` or `http/1.1`.
    pub protocol: String,
    /// SNI sent with `h2`: the first subject name of `validation` ("" without validation).
    pub sni: String,
    pub upstream_validation: Option<UpstreamValidation>,
    /// `tls.envoy-client-certificate`, presented with `h2`.
    pub client_certificate: Option<Secret>,
    /// Load-balancing strategy as upstream spells it (`Cookie`/`RequestHash` are dropped).
    pub lb_strategy: String,
    /// `timeoutPolicy.response`: used by the filters calling the extension.
    pub response_timeout: Timeout,
    /// `timeoutPolicy.idleConnection`: the cluster's idle connection timeout.
    pub idle_connection_timeout: Timeout,
    /// `circuitBreakerPolicy`, replacing the global defaults when set.
    pub circuit_breakers: Option<CircuitBreakers>,
}

/// A Service port of an extension cluster and its weight (0: none given).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct WeightedService {
    pub service: ServiceCluster,
    pub weight: u32,
}

impl ExtensionCluster {
    /// The weights EDS uses, as upstream: when no service has a weight, each gets 1; a zero
    /// weight among others is left out (Envoy then gives that locality no weight).
    pub fn locality_weights(&self) -> Vec<Option<u32>> {
        let all_zero = self.services.iter().all(|s| s.weight == 0);
        self.services
            .iter()
            .map(|s| match (all_zero, s.weight) {
                (true, _) => Some(1),
                (false, 0) => None,
                (false, w) => Some(w),
            })
            .collect()
    }
}

/// The endpoints of an extension cluster: one locality per Service that has ready endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtensionLoadAssignment {
    pub eds_name: String,
    pub localities: Vec<Locality>,
}

/// Ready `(address, port)` pairs of one Service, with the locality's weight.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Locality {
    pub endpoints: Vec<(String, u16)>,
    pub weight: Option<u32>,
}
