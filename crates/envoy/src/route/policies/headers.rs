//! Header changes on routes and weighted clusters.

use contour_dag::{HeadersPolicy, WeightedCluster};
use envoy_types::pb::envoy::config::core::v3::{
    HeaderValue, HeaderValueOption, header_value_option::HeaderAppendAction,
};
use envoy_types::pb::envoy::config::route::v3::{Route, weighted_cluster};

/// `set` entries as overwrite-or-add options, sorted by name.
pub fn headers_to_add(p: &HeadersPolicy) -> Vec<HeaderValueOption> {
    p.set
        .iter()
        .map(|(k, v)| HeaderValueOption {
            header: Some(HeaderValue {
                key: k.clone(),
                value: v.clone(),
                ..Default::default()
            }),
            append_action: HeaderAppendAction::OverwriteIfExistsOrAdd as i32,
            ..Default::default()
        })
        .collect()
}

/// Route-level request and response header changes.
pub fn set_route_headers(
    route: &mut Route,
    request: Option<&HeadersPolicy>,
    response: Option<&HeadersPolicy>,
) {
    if let Some(p) = request {
        route.request_headers_to_add = headers_to_add(p);
        route.request_headers_to_remove = p.remove.clone();
    }
    if let Some(p) = response {
        route.response_headers_to_add = headers_to_add(p);
        route.response_headers_to_remove = p.remove.clone();
    }
}

/// Service-level header changes (and a literal Host rewrite) on a weighted cluster.
pub fn set_cluster_weight_headers(cw: &mut weighted_cluster::ClusterWeight, wc: &WeightedCluster) {
    if let Some(p) = &wc.request_headers {
        cw.request_headers_to_add = headers_to_add(p);
        cw.request_headers_to_remove = p.remove.clone();
        if !p.host_rewrite.is_empty() {
            cw.host_rewrite_specifier = Some(
                weighted_cluster::cluster_weight::HostRewriteSpecifier::HostRewriteLiteral(
                    p.host_rewrite.clone(),
                ),
            );
        }
    }
    if let Some(p) = &wc.response_headers {
        cw.response_headers_to_add = headers_to_add(p);
        cw.response_headers_to_remove = p.remove.clone();
    }
}

/// Upstream's `SingleSimpleCluster`: one cluster without service-level header changes can be
/// a plain `cluster`; otherwise `weighted_clusters` carries the changes.
pub fn is_simple_cluster(clusters: &[WeightedCluster]) -> bool {
    match clusters {
        [only] => {
            only.request_headers
                .as_deref()
                .is_none_or(HeadersPolicy::is_empty)
                && only
                    .response_headers
                    .as_deref()
                    .is_none_or(|p| p.set.is_empty() && p.remove.is_empty())
        }
        _ => false,
    }
}
