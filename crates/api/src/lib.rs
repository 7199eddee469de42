//! contour-api: Rust types for Contour's custom resources (HTTPProxy, TLSCertificateDelegation,
//! ExtensionService), the CRD YAML generated from them, and an admission step that applies the
//! generated schema's defaults and validations to objects that never went through an API server.

pub mod v1;
pub mod v1alpha1;

mod crd;

pub use crd::{crds, crds_yaml};
pub mod admission;
