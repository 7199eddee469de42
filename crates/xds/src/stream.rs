//! Async drivers: connect one gRPC stream to one protocol state machine.
//!
//! The driver owns the state machine, waits on three things (a client request, a snapshot
//! change, shutdown) and forwards the machine's responses to the client. It ends, dropping the
//! stream's state, when the client goes away, the client stream errors or the server shuts down.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use envoy_types::pb::envoy::service::discovery::v3::{DeltaDiscoveryRequest, DiscoveryRequest};
use http_body::Frame;
use prost::Message;
use tonic::Status;

use crate::delta::{DeltaResponse, DeltaStream};
use crate::grpc::{self, Requests};
use crate::metrics::MethodCounters;
use crate::request::{DeltaRequest, SotwRequest};
use crate::service::ServiceSpec;
use crate::sotw::{Feedback, Output, SotwResponse, SotwStream};
use crate::store::{Snapshot, SnapshotStore, StreamKind, XdsEvent};
use crate::wakers::Slot;
use crate::wire;

/// What a driver needs to know about one protocol flavour.
pub(crate) trait Protocol: Send + Unpin + 'static {
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
    /// Set when the service closes its streams (`XdsService::close_streams`).
    pub closed: Arc<AtomicBool>,
    /// The gRPC service the stream belongs to.
    pub spec: &'static ServiceSpec,
    /// Largest response sent, in bytes.
    pub max_encoding_message_size: usize,
    /// The method's `grpc_server_*` counters, when counted.
    pub counters: Option<Arc<MethodCounters>>,
}

/// The gRPC response body for one client stream: the driver itself, polled by the HTTP/2
/// connection when the client can take data.
///
/// No task, no channel and no stored future per stream: between polls a stream is its state
/// and one registered waker (see `wakers`). A client that stops reading therefore stops costing
/// anything but its state; when it goes away the body is dropped and so is the stream's state.
pub(crate) fn respond<P: Protocol>(
    ctx: StreamContext,
    proto: P,
    requests: Requests<P::Wire>,
) -> FrameStream {
    Box::pin(Driver::start(ctx, proto, requests))
}

pub(crate) type FrameStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<Frame<Bytes>, Status>> + Send>>;

/// One stream's state: the protocol machine, its requests, and the responses not yet taken.
struct Driver<P: Protocol> {
    ctx: StreamContext,
    stream_id: u64,
    proto: P,
    requests: Requests<P::Wire>,
    /// The snapshot generation this stream has answered (see `wakers`).
    seen: u64,
    /// Where this stream's waker is registered.
    slot: Slot,
    queue: VecDeque<Bytes>,
    /// Why the stream ended, for the log; a dropped body means the client went away.
    reason: &'static str,
    /// Whether the stream ended with a status, sent as the trailers: the body is over (a body
    /// dropped before that was canceled).
    ended: bool,
}

impl<P: Protocol> Driver<P> {
    fn start(ctx: StreamContext, proto: P, requests: Requests<P::Wire>) -> Self {
        let stream_id = ctx.store.next_stream_id();
        ctx.store.record(XdsEvent::StreamOpened {
            stream_id,
            kind: P::KIND,
            service: ctx.spec.short,
        });
        // Like a fresh `watch` receiver: the current snapshot counts as seen, and is answered
        // when the client asks for it.
        let seen = ctx.store.wakers().generation();
        Self {
            ctx,
            stream_id,
            proto,
            requests,
            seen,
            slot: Slot::NONE,
            queue: VecDeque::new(),
            reason: "client closed the stream",
            ended: false,
        }
    }

    /// Takes one input that is ready (shutdown, a new snapshot, a request, in that order, so a
    /// client sending without pause still gets new snapshots) and queues the responses it
    /// causes; `Err` ends the stream. Pending when nothing is ready, with this task's waker
    /// registered for the next snapshot.
    fn poll_step(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        if let Some(step) = self.closed_or_new_snapshot() {
            return Poll::Ready(step);
        }
        if let Poll::Ready(msg) = self.requests.poll_next(cx) {
            return Poll::Ready(self.on_message(msg));
        }
        self.ctx.store.wakers().register(&mut self.slot, cx.waker());
        // Checked again after registering: a change published since is seen here, or its
        // wake-up reaches the registered waker.
        match self.closed_or_new_snapshot() {
            Some(step) => Poll::Ready(step),
            None => Poll::Pending,
        }
    }

    /// Ends the stream if the service closed it, or answers a snapshot not yet seen.
    fn closed_or_new_snapshot(&mut self) -> Option<Result<(), Status>> {
        if self.ctx.closed.load(Ordering::SeqCst) {
            return Some(self.end("server shutting down", Status::ok("")));
        }
        let generation = self.ctx.store.wakers().generation();
        if generation == self.seen {
            return None;
        }
        self.seen = generation;
        let snap = self.ctx.store.snapshot();
        let responses = self.proto.on_snapshot(&snap);
        Some(self.queue_all(responses))
    }

    fn on_message(&mut self, msg: Option<Result<P::Wire, Status>>) -> Result<(), Status> {
        match msg {
            None => self.end("client closed the stream", Status::ok("")),
            Some(Err(status)) => {
                tracing::debug!(stream_id = self.stream_id, code = ?status.code(), message = status.message(), "xDS stream error");
                self.end("client stream error", status)
            }
            Some(Ok(req)) => {
                if let Some(c) = &self.ctx.counters {
                    c.received();
                }
                let responses = self.on_request(req.into())?;
                self.queue_all(responses)
            }
        }
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
        // The current snapshot without marking it seen: a pending change must still reach
        // on_snapshot for the other types of this stream.
        let snap = self.ctx.store.snapshot();
        let had_node = !self.proto.node_id().is_empty();
        let out = self.proto.on_request(&req, &snap);
        if !had_node && !self.proto.node_id().is_empty() {
            tracing::debug!(
                stream_id = self.stream_id,
                service = self.ctx.spec.short,
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

    fn queue_all(&mut self, responses: Vec<P::Response>) -> Result<(), Status> {
        for resp in responses {
            self.queue_response(resp)?;
        }
        Ok(())
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

impl<P: Protocol> futures::Stream for Driver<P> {
    type Item = Result<Frame<Bytes>, Status>;

    /// The next response frame; the trailers with the stream's status; then the end.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        loop {
            if let Some(bytes) = this.queue.pop_front() {
                if this.queue.is_empty() {
                    // An idle stream (almost all of Envoy's 14,000) keeps no room for responses.
                    this.queue = VecDeque::new();
                }
                return Poll::Ready(Some(Ok(Frame::data(bytes))));
            }
            if let Err(status) = ready!(this.poll_step(cx)) {
                this.handled(status.code());
                return Poll::Ready(Some(Ok(Frame::trailers(grpc::trailers(&status)))));
            }
        }
    }
}

impl<P: Protocol> Drop for Driver<P> {
    fn drop(&mut self) {
        if self.slot != Slot::NONE {
            self.ctx.store.wakers().unregister(self.slot);
        }
        // Dropped before its status: the client went away, which a Go server counts as canceled.
        self.handled(tonic::Code::Cancelled);
        tracing::debug!(
            stream_id = self.stream_id,
            service = self.ctx.spec.short,
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
    match ctx.spec.only_type {
        Some(only) if type_url.is_empty() => {
            *type_url = only.to_string();
            Ok(())
        }
        Some(only) if type_url != only => Err(Status::invalid_argument(format!(
            "the {} service does not serve type {type_url}",
            ctx.spec.short
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
    use std::sync::atomic::AtomicUsize;
    use std::task::{Wake, Waker};

    use futures::{Stream, StreamExt};

    use super::*;

    /// A driver of an ADS SotW stream whose client sends nothing and never ends.
    fn driver(store: &SnapshotStore) -> Driver<SotwStream> {
        let ctx = StreamContext {
            store: store.clone(),
            closed: Arc::new(AtomicBool::new(false)),
            spec: &crate::service::SERVICES[0],
            max_encoding_message_size: usize::MAX,
            counters: None,
        };
        let silent = futures::stream::pending::<Result<Frame<Bytes>, Status>>();
        let body = tonic::body::Body::new(http_body_util::StreamBody::new(silent));
        Driver::start(ctx, SotwStream::new(), Requests::new(body, usize::MAX))
    }

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Polls `driver` once with a waker that counts its wake-ups.
    fn poll(
        driver: &mut Driver<SotwStream>,
        count: &Arc<Count>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let waker = Waker::from(Arc::clone(count));
        Pin::new(driver).poll_next(&mut Context::from_waker(&waker))
    }

    fn counter() -> Arc<Count> {
        Arc::new(Count(AtomicUsize::new(0)))
    }

    #[test]
    fn a_drained_queue_keeps_no_room() {
        let mut driver = driver(&SnapshotStore::new());
        driver
            .queue
            .extend([Bytes::from_static(b"a"), Bytes::from_static(b"b")]);
        for want in [&b"a"[..], b"b"] {
            let frame = futures::executor::block_on(driver.next());
            let data = frame.expect("a frame").expect("no error").into_data();
            assert_eq!(&data.expect("data")[..], want);
        }
        assert_eq!(driver.queue.capacity(), 0);
    }

    #[test]
    fn an_idle_stream_is_woken_by_each_published_snapshot() {
        let store = SnapshotStore::new();
        let mut driver = driver(&store);
        let count = counter();
        assert!(poll(&mut driver, &count).is_pending());
        assert_eq!(store.wakers().registered(), 1);
        store.set_ready();
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            1,
            "woken by the publication"
        );
        // Nothing subscribed yet: the new snapshot is seen and the stream waits again.
        assert!(poll(&mut driver, &count).is_pending());
        assert_eq!(driver.seen, store.wakers().generation());
        drop(driver);
        assert_eq!(
            store.wakers().registered(),
            0,
            "a dropped stream leaves no waker"
        );
    }

    #[test]
    fn closing_wakes_an_idle_stream_which_ends_with_ok_trailers() {
        let store = SnapshotStore::new();
        let mut driver = driver(&store);
        let count = counter();
        assert!(poll(&mut driver, &count).is_pending());
        driver.ctx.closed.store(true, Ordering::SeqCst);
        store.wakers().wake_all();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        let Poll::Ready(Some(Ok(frame))) = poll(&mut driver, &count) else {
            panic!("the stream should end with trailers");
        };
        let trailers = frame.into_trailers().expect("trailers");
        assert_eq!(trailers["grpc-status"], "0");
        assert!(matches!(poll(&mut driver, &count), Poll::Ready(None)));
    }

    #[test]
    fn a_new_snapshot_is_answered_before_more_requests() {
        use envoy_types::pb::google::protobuf::Any;
        let store = SnapshotStore::new();
        store.set_ready();
        let request = DiscoveryRequest {
            type_url: crate::type_url::CLUSTER.into(),
            ..Default::default()
        }
        .encode_to_vec();
        let mut framed = vec![0];
        framed.extend_from_slice(&(request.len() as u32).to_be_bytes());
        framed.extend_from_slice(&request);
        let framed = Bytes::from(framed);
        let frames = (0..3).map(move |_| Ok::<_, Status>(Frame::data(framed.clone())));
        let requests = futures::stream::iter(frames).chain(futures::stream::pending());
        let body = tonic::body::Body::new(http_body_util::StreamBody::new(requests));
        let mut driver = driver(&store);
        driver.requests = Requests::new(body, usize::MAX);
        let cluster = Any {
            type_url: crate::type_url::CLUSTER.into(),
            value: vec![1],
        };
        store.set_type(
            crate::type_url::CLUSTER,
            [("c".to_string(), cluster)].into(),
        );
        let first = poll(&mut driver, &counter());
        assert!(matches!(first, Poll::Ready(Some(Ok(_)))), "a response");
        assert_eq!(
            driver.seen,
            store.wakers().generation(),
            "the published snapshot was taken before the waiting requests"
        );
    }

    #[test]
    fn a_stream_body_is_its_driver_within_one_small_allocation() {
        // jemalloc serves a 256-byte request from its 256-byte class: the body of each of
        // Envoy's ~14,000 idle streams is this one allocation (plus its protocol state).
        let size = std::mem::size_of::<Driver<SotwStream>>();
        assert!(size <= 256, "a SotW stream's driver is {size} bytes");
    }
}
