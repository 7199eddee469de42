//! One discovery stream over ADS: subscribe, print each response, ACK or NACK it.

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DiscoveryRequest, DiscoveryResponse,
};
use envoy_types::pb::google::rpc::Status;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

use super::print;

/// What to ask for.
pub struct Subscription {
    pub type_url: &'static str,
    pub names: Vec<String>,
    pub node_id: String,
    pub nack: bool,
}

impl Subscription {
    fn node(&self) -> Option<Node> {
        Some(Node {
            id: self.node_id.clone(),
            ..Default::default()
        })
    }

    /// The error detail of a NACK, or none for an ACK.
    fn error_detail(&self) -> Option<Status> {
        self.nack.then(|| Status {
            code: tonic::Code::InvalidArgument as i32,
            message: "NACKed by contour cli (--nack)".into(),
            ..Default::default()
        })
    }
}

/// An ADS client that accepts responses of any size (a whole cluster's route configuration).
fn ads(channel: Channel) -> AggregatedDiscoveryServiceClient<Channel> {
    AggregatedDiscoveryServiceClient::new(channel).max_decoding_message_size(usize::MAX)
}

/// State of the world.
pub async fn run_sotw(channel: Channel, sub: Subscription) -> anyhow::Result<()> {
    let (tx, rx) = mpsc::channel(4);
    tx.send(DiscoveryRequest {
        type_url: sub.type_url.into(),
        resource_names: sub.names.clone(),
        node: sub.node(),
        ..Default::default()
    })
    .await?;
    let mut client = ads(channel);
    let mut responses = client
        .stream_aggregated_resources(ReceiverStream::new(rx))
        .await?
        .into_inner();
    // The version last accepted: what a NACK reports, as Envoy does.
    let mut accepted = String::new();
    while let Some(resp) = responses.message().await? {
        print::sotw(&resp, &mut std::io::stdout().lock())?;
        if !sub.nack {
            accepted = resp.version_info.clone();
        }
        tx.send(reply(&sub, &resp, &accepted)).await?;
    }
    Ok(())
}

fn reply(sub: &Subscription, resp: &DiscoveryResponse, accepted: &str) -> DiscoveryRequest {
    DiscoveryRequest {
        type_url: resp.type_url.clone(),
        version_info: accepted.to_string(),
        response_nonce: resp.nonce.clone(),
        resource_names: sub.names.clone(),
        error_detail: sub.error_detail(),
        ..Default::default()
    }
}

/// Delta (incremental) xDS.
pub async fn run_delta(channel: Channel, sub: Subscription) -> anyhow::Result<()> {
    let (tx, rx) = mpsc::channel(4);
    tx.send(DeltaDiscoveryRequest {
        type_url: sub.type_url.into(),
        resource_names_subscribe: sub.names.clone(),
        node: sub.node(),
        ..Default::default()
    })
    .await?;
    let mut client = ads(channel);
    let mut responses = client
        .delta_aggregated_resources(ReceiverStream::new(rx))
        .await?
        .into_inner();
    while let Some(resp) = responses.message().await? {
        print::delta(&resp, &mut std::io::stdout().lock())?;
        tx.send(DeltaDiscoveryRequest {
            type_url: resp.type_url.clone(),
            response_nonce: resp.nonce.clone(),
            error_detail: sub.error_detail(),
            ..Default::default()
        })
        .await?;
    }
    Ok(())
}
