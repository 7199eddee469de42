//! gRPC message framing for the xDS streams, done here rather than by tonic's codec because of
//! memory: Envoy opens one stream per route configuration, cluster and secret (about 14,000 at
//! 10k HTTPProxies), and its first request on each carries the whole node description (tens of
//! kB). tonic's decoder keeps a buffer as large as the largest message for the life of the
//! stream; [`Requests`] holds bytes only while a message is incomplete.
//!
//! Framing (gRPC over HTTP/2): each message is a 1-byte compressed flag, a 4-byte big-endian
//! length and the encoded message. Compression is not negotiated, so a compressed message is
//! a protocol error.

use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http_body::Body;
use prost::Message;
use tonic::Status;

/// The gRPC message header: compressed flag and length.
pub(crate) const HEADER_LEN: usize = 5;

/// The decoded requests of one stream.
pub(crate) struct Requests<T> {
    body: tonic::body::Body,
    /// Received bytes not yet decoded; empty (and unallocated) between messages.
    buf: BytesMut,
    max_message: usize,
    ended: bool,
    _message: PhantomData<fn() -> T>,
}

impl<T: Message + Default> Requests<T> {
    pub(crate) fn new(body: tonic::body::Body, max_message: usize) -> Self {
        Self {
            body,
            buf: BytesMut::new(),
            max_message,
            ended: false,
            _message: PhantomData,
        }
    }

    /// The next request; `None` when the client has finished sending.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, Status>>> {
        loop {
            if let Some(msg) = self.decode_one().transpose() {
                return Poll::Ready(Some(msg));
            }
            if self.ended {
                return Poll::Ready(self.leftover());
            }
            match ready!(Pin::new(&mut self.body).poll_frame(cx)) {
                None => self.ended = true,
                Some(Err(status)) => {
                    self.ended = true;
                    self.buf = BytesMut::new();
                    return Poll::Ready(Some(Err(status)));
                }
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.append(data);
                    }
                }
            }
        }
    }

    /// Waits for the next request (see [`Self::poll_next`]).
    #[cfg(test)]
    pub(crate) async fn next(&mut self) -> Option<Result<T, Status>> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    fn append(&mut self, data: Bytes) {
        if self.buf.is_empty() {
            // The common case: a whole message in one frame. Reserve no more than needed.
            self.buf = BytesMut::with_capacity(data.len());
        }
        self.buf.put(data);
    }

    /// Decodes one complete message from the buffer, if there is one.
    fn decode_one(&mut self) -> Result<Option<T>, Status> {
        if self.buf.len() < HEADER_LEN {
            return Ok(None);
        }
        if self.buf[0] != 0 {
            self.ended = true;
            self.buf = BytesMut::new();
            return Err(Status::internal(
                "protocol error: received a compressed message but no compression was negotiated",
            ));
        }
        let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize;
        if len > self.max_message {
            self.ended = true;
            self.buf = BytesMut::new();
            return Err(Status::out_of_range(format!(
                "Error, decoded message length too large: found {len} bytes, the limit is: {} bytes",
                self.max_message
            )));
        }
        if self.buf.len() < HEADER_LEN + len {
            self.buf.reserve(HEADER_LEN + len - self.buf.len());
            return Ok(None);
        }
        self.buf.advance(HEADER_LEN);
        let message = self.buf.split_to(len).freeze();
        if self.buf.is_empty() {
            // Release the allocation: a stream may stay idle for hours.
            self.buf = BytesMut::new();
        }
        T::decode(message)
            .map(Some)
            .map_err(|err| Status::internal(format!("failed to decode request: {err}")))
    }

    /// What to report when the body ended: an error for a truncated message.
    fn leftover(&mut self) -> Option<Result<T, Status>> {
        if self.buf.is_empty() {
            return None;
        }
        self.buf = BytesMut::new();
        Some(Err(Status::internal(
            "protocol error: the request stream ended inside a message",
        )))
    }
}

/// The trailers that end a stream with `status` (`Ok` included).
pub(crate) fn trailers(status: &Status) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    if status.add_header(&mut map).is_err() {
        map.insert("grpc-status", http::HeaderValue::from_static("13"));
    }
    map
}

#[cfg(test)]
mod tests;
