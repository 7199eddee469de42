//! A gRPC backend and client for tests through Envoy: service `testkit.Echo` with a unary
//! `Say` and a server-streaming `Count`, written by hand over tonic's prost codec (no code
//! generation). The backend speaks HTTP/2 in clear text (h2c), as an HTTPProxy service with
//! `protocol: h2c` expects.
//!
//! - `Say` answers the message back with the backend's name, and the name again in the
//!   response metadata (`x-echo-backend`).
//! - `Count { n }` streams `1..=n`, then ends with status `OUT_OF_RANGE` whose trailers carry
//!   `x-echo-backend`: a status and a custom trailer after data, which only a proxy that
//!   forwards HTTP/2 trailers delivers.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::task::JoinHandle;
use tonic::codegen::{BoxFuture, Service, http};
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Response, Status};
use tonic_prost::ProstCodec;

use crate::ports::bind_unique;

/// The service name.
pub const GRPC_SERVICE: &str = "testkit.Echo";
const SAY: &str = "/testkit.Echo/Say";
const COUNT: &str = "/testkit.Echo/Count";
/// Metadata key naming the backend (a response header of `Say`, a trailer of `Count`).
pub const GRPC_BACKEND_KEY: &str = "x-echo-backend";

#[derive(Clone, PartialEq, prost::Message)]
pub struct SayRequest {
    #[prost(string, tag = "1")]
    pub message: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SayReply {
    #[prost(string, tag = "1")]
    pub message: String,
    #[prost(string, tag = "2")]
    pub backend: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CountRequest {
    #[prost(uint32, tag = "1")]
    pub n: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CountReply {
    #[prost(uint32, tag = "1")]
    pub i: u32,
}

/// The backend's name as metadata.
fn backend_metadata(name: &str) -> MetadataMap {
    let mut md = MetadataMap::new();
    if let Ok(v) = MetadataValue::try_from(name) {
        md.insert(GRPC_BACKEND_KEY, v);
    }
    md
}

/// The `testkit.Echo` service (a tower service tonic's server can host).
#[derive(Clone)]
struct EchoService {
    name: Arc<str>,
}

impl tonic::server::NamedService for EchoService {
    const NAME: &'static str = GRPC_SERVICE;
}

impl<B> Service<http::Request<B>> for EchoService
where
    B: tonic::codegen::Body + Send + 'static,
    B::Error: Into<tonic::codegen::StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let name = Arc::clone(&self.name);
        match req.uri().path() {
            SAY => Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(ProstCodec::default());
                Ok(grpc.unary(Say(name), req).await)
            }),
            COUNT => Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(ProstCodec::default());
                Ok(grpc.server_streaming(Count(name), req).await)
            }),
            _ => Box::pin(async { Ok(Status::unimplemented("no such method").into_http()) }),
        }
    }
}

struct Say(Arc<str>);

impl tonic::server::UnaryService<SayRequest> for Say {
    type Response = SayReply;
    type Future = BoxFuture<Response<SayReply>, Status>;

    fn call(&mut self, req: Request<SayRequest>) -> Self::Future {
        let name = Arc::clone(&self.0);
        Box::pin(async move {
            let reply = SayReply {
                message: req.into_inner().message,
                backend: name.to_string(),
            };
            let mut response = Response::new(reply);
            *response.metadata_mut() = backend_metadata(&name);
            Ok(response)
        })
    }
}

struct Count(Arc<str>);

type CountStream = tokio_stream::Iter<std::vec::IntoIter<Result<CountReply, Status>>>;

impl tonic::server::ServerStreamingService<CountRequest> for Count {
    type Response = CountReply;
    type ResponseStream = CountStream;
    type Future = BoxFuture<Response<CountStream>, Status>;

    fn call(&mut self, req: Request<CountRequest>) -> Self::Future {
        let name = Arc::clone(&self.0);
        Box::pin(async move {
            let n = req.into_inner().n;
            let mut items: Vec<Result<CountReply, Status>> =
                (1..=n).map(|i| Ok(CountReply { i })).collect();
            items.push(Err(Status::with_metadata(
                Code::OutOfRange,
                format!("counted to {n}"),
                backend_metadata(&name),
            )));
            Ok(Response::new(tokio_stream::iter(items)))
        })
    }
}

/// A running gRPC backend on 127.0.0.1 (h2c); stops when dropped.
#[derive(Debug)]
pub struct GrpcBackend {
    port: u16,
    task: JoinHandle<()>,
}

impl GrpcBackend {
    /// Starts backend `name` on a fresh port, on the current tokio runtime.
    ///
    /// # Errors
    /// When no local port can be bound.
    pub async fn start(name: &str) -> anyhow::Result<Self> {
        let listener = bind_unique()?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let service = EchoService { name: name.into() };
        let task = tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(TcpIncoming::from(listener))
                .await;
        });
        Ok(Self { port, task })
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for GrpcBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A `testkit.Echo` client speaking h2c to 127.0.0.1:`port` with `:authority` `host` (an
/// Envoy listener and a virtual host, say).
pub struct GrpcClient {
    inner: tonic::client::Grpc<Channel>,
}

impl GrpcClient {
    /// Connects (one HTTP/2 connection, prior knowledge).
    ///
    /// # Errors
    /// When the connection cannot be made.
    pub async fn connect(port: u16, host: &str) -> anyhow::Result<Self> {
        let origin: http::Uri = format!("http://{host}").parse()?;
        let channel = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))?
            .origin(origin)
            .connect()
            .await?;
        Ok(Self {
            inner: tonic::client::Grpc::new(channel),
        })
    }

    async fn ready(&mut self) -> Result<(), Status> {
        self.inner
            .ready()
            .await
            .map_err(|e| Status::unavailable(e.to_string()))
    }

    /// Unary `Say`.
    ///
    /// # Errors
    /// The call's status when it is not OK.
    pub async fn say(&mut self, message: &str) -> Result<Response<SayReply>, Status> {
        self.ready().await?;
        let request = Request::new(SayRequest {
            message: message.to_string(),
        });
        let path = http::uri::PathAndQuery::from_static(SAY);
        self.inner.unary(request, path, ProstCodec::default()).await
    }

    /// Server-streaming `Count`: the numbers received, and the status the stream ended with
    /// (its metadata holds the trailers).
    ///
    /// # Errors
    /// The call's status when the stream could not be opened.
    pub async fn count(&mut self, n: u32) -> Result<(Vec<u32>, Status), Status> {
        self.ready().await?;
        let path = http::uri::PathAndQuery::from_static(COUNT);
        let request = Request::new(CountRequest { n });
        let response = self
            .inner
            .server_streaming(
                request,
                path,
                ProstCodec::<CountRequest, CountReply>::default(),
            )
            .await?;
        let mut stream: tonic::Streaming<CountReply> = response.into_inner();
        let mut got = Vec::new();
        loop {
            match stream.message().await {
                Ok(Some(reply)) => got.push(reply.i),
                Ok(None) => return Ok((got, Status::ok(""))),
                Err(status) => return Ok((got, status)),
            }
        }
    }
}
