//! The configuration graph: object cache, processors, DAG model and status.
//! No Envoy types and no I/O live here.

pub mod model;

pub use model::*;
