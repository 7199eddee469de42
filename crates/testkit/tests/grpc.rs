//! The gRPC backend and client talk to each other directly (no Envoy).

use contour_testkit::{GRPC_BACKEND_KEY, GrpcBackend, GrpcClient};
use tonic::Code;

#[tokio::test]
async fn unary_and_streaming_calls_with_status_and_trailer() {
    let backend = GrpcBackend::start("g").await.unwrap();
    let mut client = GrpcClient::connect(backend.port(), "grpc.example.com")
        .await
        .unwrap();
    let r = client.say("hello").await.unwrap();
    assert_eq!(r.get_ref().message, "hello");
    assert_eq!(r.get_ref().backend, "g");
    assert_eq!(
        r.metadata()
            .get(GRPC_BACKEND_KEY)
            .and_then(|v| v.to_str().ok()),
        Some("g")
    );
    let (got, status) = client.count(3).await.unwrap();
    assert_eq!(got, vec![1, 2, 3]);
    assert_eq!(status.code(), Code::OutOfRange);
    assert_eq!(status.message(), "counted to 3");
    assert_eq!(
        status
            .metadata()
            .get(GRPC_BACKEND_KEY)
            .and_then(|v| v.to_str().ok()),
        Some("g")
    );
}
