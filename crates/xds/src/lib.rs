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
//! - `request`: requests as decoded, without the node description the cores never read;
//! - `wire`: responses encoded over the snapshot's shared resource bytes;
//! - `stream`: drivers that connect a gRPC stream to a state machine (the response body);
//! - [`service`]: the gRPC services (ADS and the per-type services) and the request router;
//! - [`server`]: the gRPC server (`serve`, `serve_with_config`) on hyper's HTTP/2 server;
//! - [`metrics`]: upstream's `grpc_server_*` counters, counted by the router and the drivers.

pub mod delta;
mod grpc;
pub mod metrics;
mod request;
pub mod server;
pub mod service;
pub mod sotw;
pub mod store;
mod stream;
pub mod tls;
pub mod type_url;
mod wakers;
mod wire;

pub use metrics::GrpcMetrics;
pub use server::{ServerConfig, serve, serve_with_config};
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
    /// An I/O error, e.g. reading the listener's local address.
    #[error("xDS server I/O error: {0}")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod testutil;
