//! contour-xds: the xDS server.
//!
//! This crate knows nothing about the DAG or about Kubernetes. It serves opaque, already-encoded
//! resources (`google.protobuf.Any`) that the binary puts into a [`SnapshotStore`] after each build.
//!
//! Layout:
//! - [`store`]: the snapshot store (per-type resources and versions, readiness, change
//!   notification, events and counters);
//! - [`sotw`] and [`delta`]: the protocol cores, plain state machines without I/O;
//! - `grpc`: gRPC message framing (requests decoded without a per-stream buffer);
//! - `wire`: responses encoded over the snapshot's shared resource bytes;
//! - `stream`: drivers that connect a gRPC stream to a state machine (the response body);
//! - [`service`]: the gRPC services (ADS and the per-type services), thin adapters;
//! - [`server`]: the gRPC server (`serve`, `router`);
//! - [`metrics`]: upstream's `grpc_server_*` counters, as a tower layer on the router.

pub mod delta;
mod grpc;
pub mod metrics;
pub mod server;
pub mod service;
pub mod sotw;
pub mod store;
mod stream;
pub mod tls;
pub mod type_url;
mod wire;

pub use metrics::GrpcMetrics;
pub use server::{ServerConfig, router, serve, serve_with_config};
pub use service::XdsService;
pub use store::{
    EventSink, Resource, Snapshot, SnapshotStore, StreamKind, TypeSnapshot, XdsEvent, XdsStats,
};
pub use tls::{
    TlsConfigError, TlsFiles, accept_with, load_server_config, server_config_from_files,
};

/// Errors returned by this crate.
#[derive(Debug, thiserror::Error)]
pub enum XdsError {
    /// The gRPC transport failed (bind, accept or serve).
    #[error("xDS gRPC transport error: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// An I/O error, e.g. reading the listener's local address.
    #[error("xDS server I/O error: {0}")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod testutil;
