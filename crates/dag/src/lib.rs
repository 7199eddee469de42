//! The configuration graph: object cache, processors, DAG model and status.
//! No Envoy types and no I/O live here.
//!
//! Flow: sources feed [`Cache`]; [`build`] runs the processors in a fixed order (Ingress, then
//! ExtensionService, HTTPProxy) and returns a [`Dag`] plus a [`StatusSet`]. EndpointSlices live in
//! [`EndpointStore`] and never go through the build.

pub mod builder;
pub mod cache;
pub mod duration;
pub mod endpoints;
pub mod extension;
#[cfg(test)]
mod extension_tests;
#[cfg(test)]
mod external_name_tests;
pub mod global_headers;
pub mod go_regexp;
pub mod httpproxy;
pub mod incremental;
pub mod ingress;
pub mod ingress_annotations;
pub mod ingress_class;
mod ingress_tls;
pub mod model;
mod model_extension;
#[cfg(test)]
mod model_tests;
mod model_tls;
pub mod object;
pub mod parallel;
pub mod policy;
pub mod rare;
pub mod references;
pub mod service_policy;
pub mod services;
pub mod status;
#[cfg(test)]
mod testutil;
pub mod tls;
pub mod upstream_tls;
pub mod vhost_policy;

pub use builder::{BuildConfig, BuildOutput, build};
pub use cache::Cache;
pub use endpoints::EndpointStore;
pub use incremental::IncrementalBuild;
pub use ingress_class::ClassFilter;
pub use model::*;
pub use object::{Kind, Object, ObjectKey, SourceEvent};
pub use policy::*;
pub use status::{ExtensionStatus, ProxyKey, ProxyStatus, ProxyStatuses, StatusSet};
pub use vhost_policy::*;
