//! contour-k8s: everything that talks to the Kubernetes API server.
//!
//! ```text
//! watchers (source) ──SourceEvent──▶ event loop ──StatusSet──▶ status writer ──▶ API server
//!                                                                  ▲ leader only
//!                                         leader election (Lease) ─┘
//! ```
//!
//! - [`source`]: kube-rs watchers per kind → [`contour_dag::SourceEvent`]s.
//! - [`leader`]: Lease-based leader election that never stops xDS serving.
//! - [`status`]: the status writer (HTTPProxy conditions, load-balancer addresses).
//!
//! See docs/kubernetes.md.

pub mod client;
pub mod leader;
pub mod ratelimit;
pub mod source;
pub mod status;

pub use client::{ClientOptions, check, client};

/// Errors of the Kubernetes integration.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes client configuration: {0}")]
    Config(String),
    #[error("Kubernetes API: {0}")]
    Client(#[from] kube::Error),
    #[error("no answer from the Kubernetes API server within {0:?}")]
    Timeout(std::time::Duration),
}
