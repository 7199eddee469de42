//! HTTPProxy route and service policies: API types → DAG policy data, with upstream's
//! validation and messages. Each module is a set of pure functions; `routes.rs` calls them in
//! upstream's order and turns failures into status.

pub mod actions;
pub mod headers;
pub mod health;
pub mod lb;
pub mod timeouts;
