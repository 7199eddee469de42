//! `projectcontour.io/v1alpha1`: ExtensionService and ContourConfiguration.

mod contourconfig;
mod contourconfig_defaults;
mod extensionservice;

pub use contourconfig::*;
pub use contourconfig_defaults::*;
pub use extensionservice::*;
