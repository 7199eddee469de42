//! Async drivers: connect one gRPC stream to one protocol state machine.
//!
//! The driver owns the state machine, waits on three things (a client request, a snapshot
//! change, shutdown) and forwards the machine's responses to the client. It ends, dropping the
//! stream's state, when the client goes away, the client stream errors or the server shuts down.

use std::sync::Arc;

use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
};
use prost::Message;
use tokio::sync::{mpsc, watch};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};

use crate::delta::DeltaStream;
use crate::sotw::{Feedback, Output, SotwStream};
use crate::store::{Snapshot, SnapshotStore, StreamKind, XdsEvent};

/// Responses buffered per stream before the driver waits for the client to read.
const RESPONSE_BUFFER: usize = 16;

/// The response stream handed to tonic.
pub type ResponseStream<T> = ReceiverStream<Result<T, Status>>;

/// What a driver needs to know about one protocol flavour.
pub(crate) trait Protocol: Send + 'static {
    type Request: Send + 'static;
    type Response: Message + Send + 'static;
    const KIND: StreamKind;

    fn on_request(&mut self, req: &Self::Request, snap: &Snapshot) -> Output<Self::Response>;
    fn on_snapshot(&mut self, snap: &Snapshot) -> Vec<Self::Response>;
    fn node_id(&self) -> &str;
    fn type_url_mut(req: &mut Self::Request) -> &mut String;
    /// (type URL, version, nonce, resources, removed) of a response, for events.
    fn describe(resp: &Self::Response) -> (String, String, String, usize, usize);
}

impl Protocol for SotwStream {
    type Request = DiscoveryRequest;
    type Response = DiscoveryResponse;
    const KIND: StreamKind = StreamKind::Sotw;

    fn on_request(&mut self, req: &DiscoveryRequest, snap: &Snapshot) -> Output<DiscoveryResponse> {
        SotwStream::on_request(self, req, snap)
    }
    fn on_snapshot(&mut self, snap: &Snapshot) -> Vec<DiscoveryResponse> {
        SotwStream::on_snapshot(self, snap)
    }
    fn node_id(&self) -> &str {
        SotwStream::node_id(self)
    }
    fn type_url_mut(req: &mut DiscoveryRequest) -> &mut String {
        &mut req.type_url
    }
    fn describe(r: &DiscoveryResponse) -> (String, String, String, usize, usize) {
        let (t, v, n) = (r.type_url.clone(), r.version_info.clone(), r.nonce.clone());
        (t, v, n, r.resources.len(), 0)
    }
}

impl Protocol for DeltaStream {
    type Request = DeltaDiscoveryRequest;
    type Response = DeltaDiscoveryResponse;
    const KIND: StreamKind = StreamKind::Delta;

    fn on_request(
        &mut self,
        req: &DeltaDiscoveryRequest,
        snap: &Snapshot,
    ) -> Output<DeltaDiscoveryResponse> {
        DeltaStream::on_request(self, req, snap)
    }
    fn on_snapshot(&mut self, snap: &Snapshot) -> Vec<DeltaDiscoveryResponse> {
        DeltaStream::on_snapshot(self, snap)
    }
    fn node_id(&self) -> &str {
        DeltaStream::node_id(self)
    }
    fn type_url_mut(req: &mut DeltaDiscoveryRequest) -> &mut String {
        &mut req.type_url
    }
    fn describe(r: &DeltaDiscoveryResponse) -> (String, String, String, usize, usize) {
        let (t, v, n) = (
            r.type_url.clone(),
            r.system_version_info.clone(),
            r.nonce.clone(),
        );
        (t, v, n, r.resources.len(), r.removed_resources.len())
    }
}

/// Everything a driver shares with the service that started it.
#[derive(Clone)]
pub(crate) struct StreamContext {
    pub store: SnapshotStore,
    pub shutdown: watch::Receiver<bool>,
    pub service: &'static str,
    /// For per-type services: the only type URL accepted (an empty one is filled in).
    pub only_type: Option<&'static str>,
}

/// Starts a driver for one client stream and returns the response stream for tonic.
pub(crate) fn spawn<P: Protocol>(
    ctx: StreamContext,
    proto: P,
    requests: Streaming<P::Request>,
) -> ResponseStream<P::Response> {
    let (tx, rx) = mpsc::channel(RESPONSE_BUFFER);
    tokio::spawn(run(ctx, proto, requests, tx));
    ReceiverStream::new(rx)
}

type Sender<T> = mpsc::Sender<Result<T, Status>>;

async fn run<P: Protocol>(
    ctx: StreamContext,
    mut proto: P,
    requests: Streaming<P::Request>,
    tx: Sender<P::Response>,
) {
    let stream_id = ctx.store.next_stream_id();
    ctx.store.record(XdsEvent::StreamOpened {
        stream_id,
        kind: P::KIND,
        service: ctx.service,
    });
    let reason = drive(&ctx, stream_id, &mut proto, requests, &tx).await;
    tracing::debug!(
        stream_id,
        service = ctx.service,
        node = proto.node_id(),
        reason,
        "xDS stream ending"
    );
    ctx.store.record(XdsEvent::StreamClosed {
        stream_id,
        kind: P::KIND,
        node: proto.node_id().to_string(),
    });
}

enum Step<R> {
    Shutdown,
    ClientGone,
    Request(Option<Result<R, Status>>),
    SnapshotChanged(bool),
}

async fn drive<P: Protocol>(
    ctx: &StreamContext,
    stream_id: u64,
    proto: &mut P,
    mut requests: Streaming<P::Request>,
    tx: &Sender<P::Response>,
) -> &'static str {
    let mut snapshots = ctx.store.subscribe();
    let mut shutdown = ctx.shutdown.clone();
    let closed = async move {
        // An error means the service is gone: end the stream as well.
        let _ = shutdown.wait_for(|stop| *stop).await;
    };
    tokio::pin!(closed);
    loop {
        let step = tokio::select! {
            _ = &mut closed => Step::Shutdown,
            _ = tx.closed() => Step::ClientGone,
            msg = requests.next() => Step::Request(msg),
            changed = snapshots.changed() => Step::SnapshotChanged(changed.is_ok()),
        };
        let responses = match step {
            Step::Shutdown => return "server shutting down",
            Step::ClientGone | Step::Request(None) => return "client closed the stream",
            Step::Request(Some(Err(status))) => {
                tracing::debug!(stream_id, code = ?status.code(), message = status.message(), "xDS stream error");
                return "client stream error";
            }
            Step::SnapshotChanged(false) => return "snapshot store dropped",
            Step::SnapshotChanged(true) => {
                let snap = Arc::clone(&snapshots.borrow_and_update());
                proto.on_snapshot(&snap)
            }
            Step::Request(Some(Ok(mut req))) => {
                if let Err(status) = check_type(ctx, P::type_url_mut(&mut req)) {
                    let _ = tx.send(Err(status)).await;
                    return "request for a type this service does not serve";
                }
                // Not borrow_and_update: a pending change must still reach on_snapshot for
                // the other types of this stream.
                let snap = Arc::clone(&snapshots.borrow());
                let had_node = !proto.node_id().is_empty();
                let out = proto.on_request(&req, &snap);
                if !had_node && !proto.node_id().is_empty() {
                    tracing::debug!(
                        stream_id,
                        service = ctx.service,
                        node = proto.node_id(),
                        "xDS client identified"
                    );
                }
                if let Some(feedback) = out.feedback {
                    ctx.store
                        .record(feedback_event(stream_id, proto.node_id(), feedback));
                }
                out.responses
            }
        };
        for resp in responses {
            let (type_url, version, nonce, resources, removed) = P::describe(&resp);
            let bytes = resp.encoded_len();
            if tx.send(Ok(resp)).await.is_err() {
                return "client closed the stream";
            }
            ctx.store.record(XdsEvent::ResponseSent {
                stream_id,
                type_url,
                version,
                nonce,
                resources,
                removed,
                bytes,
            });
        }
    }
}

/// Per-type services fill in an empty type URL and reject other types; ADS needs one.
fn check_type(ctx: &StreamContext, type_url: &mut String) -> Result<(), Status> {
    match ctx.only_type {
        Some(only) if type_url.is_empty() => {
            *type_url = only.to_string();
            Ok(())
        }
        Some(only) if type_url != only => Err(Status::invalid_argument(format!(
            "the {} service does not serve type {type_url}",
            ctx.service
        ))),
        None if type_url.is_empty() => Err(Status::invalid_argument(
            "type_url is required on an aggregated stream",
        )),
        _ => Ok(()),
    }
}

fn feedback_event(stream_id: u64, node: &str, feedback: Feedback) -> XdsEvent {
    let node = node.to_string();
    match feedback {
        Feedback::Ack {
            type_url,
            version,
            nonce,
        } => XdsEvent::Ack {
            stream_id,
            type_url,
            version,
            nonce,
            node,
        },
        Feedback::Nack {
            type_url,
            version,
            nonce,
            message,
        } => XdsEvent::Nack {
            stream_id,
            type_url,
            version,
            nonce,
            message,
            node,
        },
    }
}
