//! `projectcontour.io/v1`: HTTPProxy and TLSCertificateDelegation.

mod httpproxy;
mod status;
mod tlscertificatedelegation;

pub use httpproxy::*;
pub use status::*;
pub use tlscertificatedelegation::*;
