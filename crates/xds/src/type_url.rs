//! Type URLs of the resources Contour serves.

/// Listeners (LDS).
pub const LISTENER: &str = "type.googleapis.com/envoy.config.listener.v3.Listener";
/// Scoped route configurations (SRDS): `contour serve --http-route-scopes`.
pub const SCOPED_ROUTE: &str = "type.googleapis.com/envoy.config.route.v3.ScopedRouteConfiguration";
/// Route configurations (RDS).
pub const ROUTE: &str = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
/// Clusters (CDS).
pub const CLUSTER: &str = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
/// Cluster load assignments (EDS).
pub const ENDPOINT: &str = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
/// TLS secrets (SDS).
pub const SECRET: &str = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
/// Runtime layers (RTDS).
pub const RUNTIME: &str = "type.googleapis.com/envoy.service.runtime.v3.Runtime";

/// `type_url` without an allocation when it is one of [`ALL`] (per-stream state holds one per
/// subscribed type, and Envoy opens thousands of streams).
pub fn shared(type_url: &str) -> std::borrow::Cow<'static, str> {
    match ALL.iter().find(|t| **t == type_url) {
        Some(t) => std::borrow::Cow::Borrowed(t),
        None => std::borrow::Cow::Owned(type_url.to_string()),
    }
}

/// Every type URL served, in the order Envoy should receive them on an ADS stream.
pub const ALL: [&str; 7] = [
    CLUSTER,
    ENDPOINT,
    LISTENER,
    SCOPED_ROUTE,
    ROUTE,
    SECRET,
    RUNTIME,
];

/// Whether a delta subscription with an empty initial subscribe list means "wildcard" for this
/// type (legacy wildcard semantics apply to LDS and CDS, and SRDS, which Envoy subscribes to
/// whole).
pub fn is_wildcard_type(type_url: &str) -> bool {
    type_url == LISTENER || type_url == CLUSTER || type_url == SCOPED_ROUTE
}

/// A short name for logs and metrics labels ("listener", "cluster", ...).
pub fn short_name(type_url: &str) -> &str {
    type_url.rsplit('.').next().unwrap_or(type_url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use envoy_types::pb::envoy::config::cluster::v3::Cluster;
    use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
    use envoy_types::pb::envoy::config::listener::v3::Listener;
    use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
    use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::Secret;
    use envoy_types::pb::envoy::service::runtime::v3::Runtime;
    use prost::Name;

    #[test]
    fn constants_match_generated_types() {
        assert_eq!(LISTENER, Listener::type_url());
        assert_eq!(ROUTE, RouteConfiguration::type_url());
        assert_eq!(
            SCOPED_ROUTE,
            envoy_types::pb::envoy::config::route::v3::ScopedRouteConfiguration::type_url()
        );
        assert_eq!(CLUSTER, Cluster::type_url());
        assert_eq!(ENDPOINT, ClusterLoadAssignment::type_url());
        assert_eq!(SECRET, Secret::type_url());
        assert_eq!(RUNTIME, Runtime::type_url());
    }

    #[test]
    fn short_names() {
        assert_eq!(short_name(CLUSTER), "Cluster");
        assert_eq!(short_name("weird"), "weird");
    }
}
