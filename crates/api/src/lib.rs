//! contour-api: Rust types for Contour's custom resources (HTTPProxy, TLSCertificateDelegation,
//! ExtensionService), the CRD YAML generated from them, and an admission step that applies the
//! generated schema's defaults and validations to objects that never went through an API server.
//!
//! - [`v1`]: `projectcontour.io/v1` HTTPProxy and TLSCertificateDelegation;
//! - [`v1alpha1`]: `projectcontour.io/v1alpha1` ExtensionService and ContourConfiguration;
//! - [`config`]: contour.yaml (`contour serve --config-path`), parsed strictly;
//! - [`duration`]: Go duration syntax shared by the configuration and the annotations;
//! - [`crds`] / [`crds_yaml`]: the CustomResourceDefinitions (`deploy/crds/contour-crds.yaml`);
//! - [`admission::admit`]: defaulting and validation with those same schemas.

pub mod admission;
pub mod config;
mod crd;
pub mod duration;
pub mod v1;
pub mod v1alpha1;

pub use crd::{crds, crds_yaml};

#[cfg(test)]
mod tests;
