//! `projectcontour.io/v1alpha1`: ExtensionService.

mod extensionservice;

pub use extensionservice::*;
