//! Async drivers: connect one gRPC stream to one protocol state machine.
//!
//! The driver owns the state machine, waits on three things (a client request, a snapshot
//! change, shutdown) and forwards the machine's responses to the client. It ends, dropping the
//! stream's state, when the client goes away, the client stream errors or the server shuts down.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use envoy_types::pb::envoy::service::discovery::v3::{DeltaDiscoveryRequest, DiscoveryRequest};
use http_body::Frame;
use prost::Message;
use tokio::sync::watch;
use tonic::Status;

use crate::delta::{DeltaResponse, DeltaStream};
use crate::grpc::{self, Requests};
use crate::metrics::MethodCounters;
use crate::request::{DeltaRequest, SotwRequest};
use crate::sotw::{Feedback, Output, SotwResponse, SotwStream};
use crate::store::{Snapshot, SnapshotStore, StreamKind, XdsEvent};
use crate::wire;

/// What a driver needs to know about one protocol flavour.
pub(crate) trait Protocol: Send + 'static {
    type Request;
    /// The request as decoded off the wire (see `request`).
    type Wire: Message + Default + Send + Into<Self::Request> + 'static;
    type Response: Send + 'static;
    const KIND: StreamKind;

    fn on_request(&mut self, req: &Self::Request, snap: &Snapshot) -> Output<Self::Response>;
    fn on_snapshot(&mut self, snap: &Snapshot) -> Vec<Self::Response>;
    fn node_id(&self) -> &str;
    fn type_url_mut(req: &mut Self::Request) -> &mut String;
    /// (type URL, version, nonce, resources, removed) of a response, for events.
    fn describe(resp: &Self::Response) -> (String, String, String, usize, usize);
    /// The response framed for the wire, over the snapshot's shared bytes.
    fn frames(resp: &Self::Response, max: usize) -> Result<Vec<Bytes>, Status>;
}

impl Protocol for SotwStream {
    type Request = DiscoveryRequest;
    type Wire = SotwRequest;
    type Response = SotwResponse;
    const KIND: StreamKind = StreamKind::Sotw;

    fn on_request(&mut self, req: &DiscoveryRequest, snap: &Snapshot) -> Output<SotwResponse> {
        SotwStream::on_request(self, req, snap)
    }
    fn on_snapshot(&mut self, snap: &Snapshot) -> Vec<SotwResponse> {
        SotwStream::on_snapshot(self, snap)
    }
    fn node_id(&self) -> &str {
        SotwStream::node_id(self)
    }
    fn type_url_mut(req: &mut DiscoveryRequest) -> &mut String {
        &mut req.type_url
    }
    fn describe(r: &SotwResponse) -> (String, String, String, usize, usize) {
        let (t, v, n) = (r.type_url.clone(), r.version_info.clone(), r.nonce.clone());
        (t, v, n, r.resources.len(), 0)
    }
    fn frames(r: &SotwResponse, max: usize) -> Result<Vec<Bytes>, Status> {
        wire::sotw(&r.version_info, &r.resources, &r.type_url, &r.nonce, max)
    }
}

impl Protocol for DeltaStream {
    type Request = DeltaDiscoveryRequest;
    type Wire = DeltaRequest;
    type Response = DeltaResponse;
    const KIND: StreamKind = StreamKind::Delta;

    fn on_request(
        &mut self,
        req: &DeltaDiscoveryRequest,
        snap: &Snapshot,
    ) -> Output<DeltaResponse> {
        DeltaStream::on_request(self, req, snap)
    }
    fn on_snapshot(&mut self, snap: &Snapshot) -> Vec<DeltaResponse> {
        DeltaStream::on_snapshot(self, snap)
    }
    fn node_id(&self) -> &str {
        DeltaStream::node_id(self)
    }
    fn type_url_mut(req: &mut DeltaDiscoveryRequest) -> &mut String {
        &mut req.type_url
    }
    fn frames(r: &DeltaResponse, max: usize) -> Result<Vec<Bytes>, Status> {
        let (v, t, n) = (&r.system_version_info, &r.type_url, &r.nonce);
        wire::delta(v, &r.resources, t, n, &r.removed_resources, max)
    }
    fn describe(r: &DeltaResponse) -> (String, String, String, usize, usize) {
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
    /// Largest response sent, in bytes.
    pub max_encoding_message_size: usize,
    /// The method's `grpc_server_*` counters, when counted.
    pub counters: Option<Arc<MethodCounters>>,
}

/// The gRPC response body for one client stream: it drives the protocol state machine.
///
/// No task and no channel per stream: the body is polled by the HTTP/2 connection when the
/// client can take data, and it reads requests and snapshot changes in between. A client that
/// stops reading therefore stops costing anything but its state; when it goes away the body is
/// dropped and so is the stream's state.
pub(crate) fn respond<P: Protocol>(
    ctx: StreamContext,
    proto: P,
    requests: Requests<P::Wire>,
) -> FrameStream {
    frames(Box::new(Driver::start(ctx, proto, requests)))
}

/// The response frames a driver produces, ending with the trailers.
///
/// The driver is boxed: `unfold` keeps room for its state both beside and inside the future it
/// runs, so an unboxed driver would take its size twice in every stream (`tests`).
fn frames<P: Protocol>(driver: Box<Driver<P>>) -> FrameStream {
    let frames = futures::stream::unfold(Some(driver), |driver| async move {
        let mut driver = driver?;
        match driver.next().await {
            Next::Data(bytes) => Some((Ok(Frame::data(bytes)), Some(driver))),
            Next::End(status) => {
                drop(driver);
                Some((Ok(Frame::trailers(grpc::trailers(&status))), None))
            }
        }
    });
    Box::pin(frames)
}

pub(crate) type FrameStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<Frame<Bytes>, Status>> + Send>>;

enum Next {
    Data(Bytes),
    End(Status),
}

enum Step<R> {
    Shutdown,
    Request(Option<Result<R, Status>>),
    SnapshotChanged(bool),
}

/// One stream's state: the protocol machine, its requests, and the responses not yet taken.
struct Driver<P: Protocol> {
    ctx: StreamContext,
    stream_id: u64,
    proto: P,
    requests: Requests<P::Wire>,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    queue: VecDeque<Bytes>,
    /// Why the stream ended, for the log; a dropped body means the client went away.
    reason: &'static str,
    /// Whether the stream ended with a status (else it is dropped: canceled).
    ended: bool,
}

impl<P: Protocol> Driver<P> {
    fn start(ctx: StreamContext, proto: P, requests: Requests<P::Wire>) -> Self {
        let stream_id = ctx.store.next_stream_id();
        ctx.store.record(XdsEvent::StreamOpened {
            stream_id,
            kind: P::KIND,
            service: ctx.service,
        });
        let snapshots = ctx.store.subscribe();
        Self {
            ctx,
            stream_id,
            proto,
            requests,
            snapshots,
            queue: VecDeque::new(),
            reason: "client closed the stream",
            ended: false,
        }
    }

    /// The next response to send, or the status that ends the stream.
    async fn next(&mut self) -> Next {
        loop {
            if let Some(bytes) = self.queue.pop_front() {
                if self.queue.is_empty() {
                    // An idle stream (almost all of Envoy's 14,000) keeps no room for responses.
                    self.queue = VecDeque::new();
                }
                return Next::Data(bytes);
            }
            if let Err(end) = self.step().await {
                self.handled(end.code());
                return Next::End(end);
            }
        }
    }

    /// Waits for one input and queues the responses it causes; `Err` ends the stream.
    async fn step(&mut self) -> Result<(), Status> {
        let step = tokio::select! {
            // An error means the service is gone: end the stream as well.
            _ = self.ctx.shutdown.wait_for(|stop| *stop) => Step::Shutdown,
            msg = self.requests.next() => Step::Request(msg),
            changed = self.snapshots.changed() => Step::SnapshotChanged(changed.is_ok()),
        };
        let responses = match step {
            Step::Shutdown => return self.end("server shutting down", Status::ok("")),
            Step::Request(None) => return self.end("client closed the stream", Status::ok("")),
            Step::Request(Some(Err(status))) => {
                tracing::debug!(stream_id = self.stream_id, code = ?status.code(), message = status.message(), "xDS stream error");
                return self.end("client stream error", status);
            }
            Step::SnapshotChanged(false) => {
                return self.end("snapshot store dropped", Status::ok(""));
            }
            Step::SnapshotChanged(true) => {
                let snap = Arc::clone(&self.snapshots.borrow_and_update());
                self.proto.on_snapshot(&snap)
            }
            Step::Request(Some(Ok(req))) => {
                if let Some(c) = &self.ctx.counters {
                    c.received();
                }
                self.on_request(req.into())?
            }
        };
        for resp in responses {
            self.queue_response(resp)?;
        }
        Ok(())
    }

    fn end(&mut self, reason: &'static str, status: Status) -> Result<(), Status> {
        self.reason = reason;
        Err(status)
    }

    /// Counts the stream's end with `code`, once.
    fn handled(&mut self, code: tonic::Code) {
        if !std::mem::replace(&mut self.ended, true)
            && let Some(c) = &self.ctx.counters
        {
            c.handled(code);
        }
    }

    fn on_request(&mut self, mut req: P::Request) -> Result<Vec<P::Response>, Status> {
        if let Err(status) = check_type(&self.ctx, P::type_url_mut(&mut req)) {
            self.reason = "request for a type this service does not serve";
            return Err(status);
        }
        // Not borrow_and_update: a pending change must still reach on_snapshot for the other
        // types of this stream.
        let snap = Arc::clone(&self.snapshots.borrow());
        let had_node = !self.proto.node_id().is_empty();
        let out = self.proto.on_request(&req, &snap);
        if !had_node && !self.proto.node_id().is_empty() {
            tracing::debug!(
                stream_id = self.stream_id,
                service = self.ctx.service,
                node = self.proto.node_id(),
                "xDS client identified"
            );
        }
        if let Some(feedback) = out.feedback {
            let event = feedback_event(self.stream_id, self.proto.node_id(), feedback);
            self.ctx.store.record(event);
        }
        Ok(out.responses)
    }

    fn queue_response(&mut self, resp: P::Response) -> Result<(), Status> {
        let (type_url, version, nonce, resources, removed) = P::describe(&resp);
        let framed = P::frames(&resp, self.ctx.max_encoding_message_size)?;
        let bytes = framed.iter().map(Bytes::len).sum::<usize>() - grpc::HEADER_LEN;
        self.queue.extend(framed);
        if let Some(c) = &self.ctx.counters {
            c.sent();
        }
        self.ctx.store.record(XdsEvent::ResponseSent {
            stream_id: self.stream_id,
            type_url,
            version,
            nonce,
            resources,
            removed,
            bytes,
        });
        Ok(())
    }
}

impl<P: Protocol> Drop for Driver<P> {
    fn drop(&mut self) {
        // Dropped before its status: the client went away, which a Go server counts as canceled.
        self.handled(tonic::Code::Cancelled);
        tracing::debug!(
            stream_id = self.stream_id,
            service = self.ctx.service,
            node = self.proto.node_id(),
            reason = self.reason,
            "xDS stream ending"
        );
        self.ctx.store.record(XdsEvent::StreamClosed {
            stream_id: self.stream_id,
            kind: P::KIND,
            node: self.proto.node_id().to_string(),
        });
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A driver of a SotW stream with no requests, and the sender that keeps it from shutting down.
    fn driver() -> (watch::Sender<bool>, Driver<SotwStream>) {
        let (stop, shutdown) = watch::channel(false);
        let ctx = StreamContext {
            store: SnapshotStore::new(),
            shutdown,
            service: "ads",
            only_type: None,
            max_encoding_message_size: usize::MAX,
            counters: None,
        };
        let requests = Requests::new(tonic::body::Body::empty(), usize::MAX);
        (stop, Driver::start(ctx, SotwStream::new(), requests))
    }

    #[test]
    fn a_drained_queue_keeps_no_room() {
        let (_stop, mut driver) = driver();
        driver
            .queue
            .extend([Bytes::from_static(b"a"), Bytes::from_static(b"b")]);
        for want in [&b"a"[..], b"b"] {
            match futures::executor::block_on(driver.next()) {
                Next::Data(bytes) => assert_eq!(&bytes[..], want),
                Next::End(status) => panic!("ended: {status:?}"),
            }
        }
        assert_eq!(driver.queue.capacity(), 0);
    }

    #[test]
    fn a_stream_body_holds_its_driver_once() {
        let (_stop, driver) = driver();
        let driver = Box::new(driver);
        let body = frames(driver);
        let (body, driver) = (
            std::mem::size_of_val(&*body),
            std::mem::size_of::<Driver<SotwStream>>(),
        );
        assert!(
            body < 2 * driver,
            "the body's future ({body} bytes) holds the driver ({driver} bytes) inline"
        );
    }
}
