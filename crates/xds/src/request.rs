//! Requests as decoded off the wire: the fields the protocol cores read, nothing else.
//!
//! The first request of every stream carries Envoy's whole node description: metadata, build
//! version and the list of every extension compiled in, each with its name, category and type
//! URLs (a few hundred entries, tens of kB). Envoy opens about 14,000 streams at 10k
//! HTTPProxies, so decoding that node in full would be hundreds of MB of parsing and millions of
//! short-lived strings while Envoy connects, for one field: the cores keep only the node's ID.
//! These messages declare only what is read; protobuf decoding skips the other fields without
//! allocating. They convert into the full request types, whose node then holds only its ID.

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::{DeltaDiscoveryRequest, DiscoveryRequest};
use envoy_types::pb::google::rpc::Status;

/// `envoy.config.core.v3.Node`, its ID only.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct NodeId {
    #[prost(string, tag = "1")]
    pub id: String,
}

/// `DiscoveryRequest` without the node's description (or xDS-TP resource locators).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct SotwRequest {
    #[prost(string, tag = "1")]
    pub version_info: String,
    #[prost(message, optional, tag = "2")]
    pub node: Option<NodeId>,
    #[prost(string, repeated, tag = "3")]
    pub resource_names: Vec<String>,
    #[prost(string, tag = "4")]
    pub type_url: String,
    #[prost(string, tag = "5")]
    pub response_nonce: String,
    #[prost(message, optional, tag = "6")]
    pub error_detail: Option<Status>,
}

/// `DeltaDiscoveryRequest` without the node's description (or xDS-TP resource locators).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct DeltaRequest {
    #[prost(message, optional, tag = "1")]
    pub node: Option<NodeId>,
    #[prost(string, tag = "2")]
    pub type_url: String,
    #[prost(string, repeated, tag = "3")]
    pub resource_names_subscribe: Vec<String>,
    #[prost(string, repeated, tag = "4")]
    pub resource_names_unsubscribe: Vec<String>,
    #[prost(map = "string, string", tag = "5")]
    pub initial_resource_versions: std::collections::HashMap<String, String>,
    #[prost(string, tag = "6")]
    pub response_nonce: String,
    #[prost(message, optional, tag = "7")]
    pub error_detail: Option<Status>,
}

fn node(id: Option<NodeId>) -> Option<Node> {
    id.map(|n| Node {
        id: n.id,
        ..Default::default()
    })
}

impl From<SotwRequest> for DiscoveryRequest {
    fn from(r: SotwRequest) -> Self {
        DiscoveryRequest {
            version_info: r.version_info,
            node: node(r.node),
            resource_names: r.resource_names,
            resource_locators: Vec::new(),
            type_url: r.type_url,
            response_nonce: r.response_nonce,
            error_detail: r.error_detail,
        }
    }
}

impl From<DeltaRequest> for DeltaDiscoveryRequest {
    fn from(r: DeltaRequest) -> Self {
        DeltaDiscoveryRequest {
            node: node(r.node),
            type_url: r.type_url,
            resource_names_subscribe: r.resource_names_subscribe,
            resource_names_unsubscribe: r.resource_names_unsubscribe,
            resource_locators_subscribe: Vec::new(),
            resource_locators_unsubscribe: Vec::new(),
            initial_resource_versions: r.initial_resource_versions,
            response_nonce: r.response_nonce,
            error_detail: r.error_detail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use envoy_types::pb::envoy::config::core::v3::{BuildVersion, Extension};
    use prost::Message;

    /// A node as Envoy describes itself: an ID and a lot besides.
    fn envoy_node() -> Node {
        Node {
            id: "envoy-1".into(),
            cluster: "contour".into(),
            metadata: Some(Default::default()),
            user_agent_name: "envoy".into(),
            extensions: (0..300)
                .map(|i| Extension {
                    name: format!("envoy.filters.http.ext_{i}"),
                    category: "envoy.filters.http".into(),
                    version: Some(BuildVersion::default()),
                    type_urls: vec![format!("type.googleapis.com/ext.v3.Config{i}")],
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn status() -> Status {
        Status {
            code: 3,
            message: "rejected".into(),
            details: vec![],
        }
    }

    /// `full` encoded, decoded as the slim `W` and converted back.
    fn through<W: Message + Default + Into<F>, F: Message>(full: &F) -> F {
        W::decode(full.encode_to_vec().as_slice()).unwrap().into()
    }

    fn id_only() -> Option<Node> {
        Some(Node {
            id: "envoy-1".into(),
            ..Default::default()
        })
    }

    #[test]
    fn a_sotw_request_keeps_every_field_the_cores_read() {
        let full = DiscoveryRequest {
            version_info: "v1".into(),
            node: Some(envoy_node()),
            resource_names: vec!["a".into(), String::new(), "b".into()],
            type_url: "t".into(),
            response_nonce: "n".into(),
            error_detail: Some(status()),
            ..Default::default()
        };
        let got: DiscoveryRequest = through::<SotwRequest, _>(&full);
        let want = DiscoveryRequest {
            node: id_only(),
            ..full
        };
        assert_eq!(got, want);
    }

    #[test]
    fn a_delta_request_keeps_every_field_the_cores_read() {
        let full = DeltaDiscoveryRequest {
            node: Some(envoy_node()),
            type_url: "t".into(),
            resource_names_subscribe: vec!["a".into()],
            resource_names_unsubscribe: vec!["b".into()],
            initial_resource_versions: [("a".to_string(), "1".to_string())].into(),
            response_nonce: "n".into(),
            error_detail: Some(status()),
            ..Default::default()
        };
        let got: DeltaDiscoveryRequest = through::<DeltaRequest, _>(&full);
        let want = DeltaDiscoveryRequest {
            node: id_only(),
            ..full
        };
        assert_eq!(got, want);
    }

    #[test]
    fn the_node_description_is_skipped_not_decoded() {
        let bytes = envoy_node().encode_to_vec();
        assert!(
            bytes.len() > 10_000,
            "a realistic node: {} bytes",
            bytes.len()
        );
        let id = NodeId::decode(bytes.as_slice()).unwrap();
        assert_eq!(id.id, "envoy-1");
        // What is held of it: the ID, nothing of the description.
        assert_eq!(id.encoded_len(), 2 + "envoy-1".len());
    }
}
