//! contour-testkit: the harness end-to-end tests use.
//!
//! - [`envoy_bin`] finds the real Envoy binary; [`Envoy`] runs it.
//! - [`EchoBackend`] serves HTTP and says who answered; [`GrpcBackend`] / [`GrpcClient`] are a
//!   hand-written gRPC service (h2c) and its client; [`http_get`] / [`Request`]
//!   send traffic through Envoy; [`wait_for_backend`] polls until routing converges.
//! - [`Process`] runs any binary (e.g. `contour`) with a log and kill-on-drop.
//! - [`ManifestDir`] plus [`service_yaml`] / [`endpointslice_yaml`] feed a
//!   manifests directory.
//! - [`ApiServer`] is a test Kubernetes API server for kube-rs clients and `contour serve`.
//! - [`poll_until`] waits with a deadline; [`free_port`] never repeats a port.
//!
//! See docs/testing.md.

mod admin;
pub mod apiserver;
pub mod certs;
mod echo;
mod envoy;
mod envoy_bin;
mod grpc;
mod http;
mod manifests;
mod observe;
mod ports;
mod process;
pub mod tls;
mod wait;

pub use admin::AdminAddress;
pub use apiserver::{ApiServer, ApiServerOptions};
pub use echo::{ECHO_HEADER, EchoBackend, EchoReply, RESPONSE_HEADER_REQUEST};
pub use envoy::{Envoy, EnvoyOptions};
pub use envoy_bin::{envoy_bin, workspace_root};
pub use grpc::{
    CountReply, CountRequest, GRPC_BACKEND_KEY, GRPC_SERVICE, GrpcBackend, GrpcClient, SayReply,
    SayRequest,
};
pub use http::{
    REQUEST_TIMEOUT, Request, Response, connect_refused, http_get, wait_for_backend,
    wait_for_refused, wait_for_response, wait_for_status,
};
pub use manifests::{
    ManifestDir, endpointslice_doc, endpointslice_ports_doc, endpointslice_yaml, service_yaml,
};
pub use observe::{metric_value, proc_cpu_ms, proc_status_bytes, series_value};
pub use ports::free_port;
pub use process::{Process, ProcessSpec};
pub use tls::{TlsRequest, TlsResponse};
pub use wait::{POLL_INTERVAL, poll_until};
