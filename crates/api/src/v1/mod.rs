//! `projectcontour.io/v1`: HTTPProxy and TLSCertificateDelegation.

mod auth;
mod httpproxy;
mod policies;
mod ratelimit;
pub(crate) mod schema;
mod status;
mod tlscertificatedelegation;

pub use auth::*;
pub use httpproxy::*;
pub use policies::*;
pub use ratelimit::*;
pub use status::*;
pub use tlscertificatedelegation::*;
