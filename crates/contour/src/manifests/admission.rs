//! The one place where manifests go through the CRD admission of `contour-api` (schema defaults
//! and validation), as the Kubernetes API server would do before storing them.

use contour_dag::Kind;
use serde_json::Value;

/// Applies CRD defaults and validates CRD kinds; built-in kinds pass unchanged.
/// The error names the object and field.
pub(super) fn admit(kind: Kind, value: &mut Value) -> Result<(), String> {
    match kind {
        Kind::HTTPProxy | Kind::TLSCertificateDelegation | Kind::ExtensionService => {
            crd_admission(value)
        }
        Kind::Namespace | Kind::Service | Kind::EndpointSlice | Kind::Secret | Kind::Ingress => {
            Ok(())
        }
    }
}

fn crd_admission(value: &mut Value) -> Result<(), String> {
    contour_api::admission::admit(value).map_err(|err| err.to_string())
}
