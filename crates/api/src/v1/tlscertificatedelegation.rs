//! TLSCertificateDelegation: lets proxies in other namespaces reference a TLS Secret.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::DetailedCondition;
use super::schema::condition_list;

/// Delegates the right to reference TLS Secrets in this namespace to other namespaces.
#[derive(CustomResource, Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "projectcontour.io",
    version = "v1",
    kind = "TLSCertificateDelegation",
    plural = "tlscertificatedelegations",
    singular = "tlscertificatedelegation",
    shortname = "tlscerts",
    namespaced,
    derive = "PartialEq",
    derive = "Default",
    doc = "TLSCertificateDelegation lets other namespaces reference TLS Secrets of this one.",
    status = "TLSCertificateDelegationStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct TLSCertificateDelegationSpec {
    /// The delegated Secrets.
    pub delegations: Vec<CertificateDelegation>,
}

/// One delegated Secret and the namespaces allowed to use it (`*` means all).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateDelegation {
    /// A Secret in this namespace.
    pub secret_name: String,
    /// Namespaces allowed to reference it; `*` means every namespace.
    pub target_namespaces: Vec<String>,
}

/// Status of a TLSCertificateDelegation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TLSCertificateDelegationStatus {
    /// Conditions reported by Contour.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "condition_list")]
    pub conditions: Vec<DetailedCondition>,
}
