use bytes::Bytes;
use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::DiscoveryRequest;
use http_body_util::StreamBody;
use tonic::Code;

use super::*;

fn request(id: &str, padding: usize) -> DiscoveryRequest {
    DiscoveryRequest {
        node: Some(Node {
            id: id.to_string(),
            user_agent_name: "x".repeat(padding),
            ..Default::default()
        }),
        type_url: "t".into(),
        ..Default::default()
    }
}

/// One message as the client puts it on the wire: flag, length, bytes.
fn frame(msg: &DiscoveryRequest) -> Vec<u8> {
    let body = msg.encode_to_vec();
    let mut out = vec![0];
    out.extend((body.len() as u32).to_be_bytes());
    out.extend(body);
    out
}

fn wire(msgs: &[DiscoveryRequest]) -> Vec<u8> {
    msgs.iter().flat_map(frame).collect()
}

/// A request body delivering `bytes` in chunks of `chunk` bytes.
fn body(bytes: Vec<u8>, chunk: usize) -> tonic::body::Body {
    let frames: Vec<Result<http_body::Frame<Bytes>, Status>> = bytes
        .chunks(chunk)
        .map(|c| Ok(http_body::Frame::data(Bytes::copy_from_slice(c))))
        .collect();
    tonic::body::Body::new(StreamBody::new(futures::stream::iter(frames)))
}

async fn collect(mut reqs: Requests<DiscoveryRequest>) -> Vec<Result<DiscoveryRequest, Status>> {
    let mut out = Vec::new();
    while let Some(r) = reqs.next().await {
        out.push(r);
    }
    out
}

#[tokio::test]
async fn messages_split_across_any_frames_are_decoded_in_order() {
    let msgs = vec![request("a", 70_000), request("b", 3), request("c", 20_000)];
    for chunk in [1, 5, 7, 4096, 16_384, 1 << 20] {
        let got = collect(Requests::new(body(wire(&msgs), chunk), usize::MAX)).await;
        let got: Vec<_> = got.into_iter().map(Result::unwrap).collect();
        assert_eq!(got, msgs, "chunk size {chunk}");
    }
}

#[tokio::test]
async fn no_buffer_is_kept_between_messages() {
    let big = request("a", 100_000);
    let mut reqs = Requests::<DiscoveryRequest>::new(
        body(wire(std::slice::from_ref(&big)), 16_384),
        usize::MAX,
    );
    assert_eq!(reqs.next().await.unwrap().unwrap(), big);
    // tonic's decoder would keep ~128 kB here for the life of the stream.
    assert_eq!(reqs.buf.capacity(), 0);
}

#[tokio::test]
async fn oversized_compressed_and_truncated_messages_are_errors() {
    let msg = request("a", 1000);
    let got = collect(Requests::new(
        body(wire(std::slice::from_ref(&msg)), 100),
        500,
    ))
    .await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].as_ref().unwrap_err().code(), Code::OutOfRange);

    let mut compressed = wire(std::slice::from_ref(&msg));
    compressed[0] = 1;
    let got = collect(Requests::new(body(compressed, 100), usize::MAX)).await;
    assert_eq!(got[0].as_ref().unwrap_err().code(), Code::Internal);

    let mut truncated = wire(&[msg.clone(), msg.clone()]);
    truncated.truncate(truncated.len() - 10);
    let got = collect(Requests::new(body(truncated, 100), usize::MAX)).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].as_ref().unwrap(), &msg);
    assert_eq!(got[1].as_ref().unwrap_err().code(), Code::Internal);
}
