//! What a stream's protocol state costs on the heap.
//!
//! Envoy, with contour's bootstrap, opens one stream per route configuration, cluster and
//! secret: about 14,000 at 10,000 HTTPProxies, each naming one resource. Their state is counted
//! here with a counting allocator (this test binary only).

use std::alloc::System;
use std::collections::BTreeMap;

use contour_xds::Snapshot;
use contour_xds::sotw::SotwStream;
use contour_xds::type_url::ENDPOINT;
use envoy_types::pb::envoy::service::discovery::v3::DiscoveryRequest;
use envoy_types::pb::google::protobuf::Any;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const STREAMS: usize = 1000;

fn name(i: usize) -> String {
    format!("default/service-{i:05}/http")
}

#[test]
fn a_stream_naming_one_resource_holds_a_few_hundred_bytes() {
    let endpoints: BTreeMap<String, Any> = (0..STREAMS)
        .map(|i| {
            let any = Any {
                type_url: ENDPOINT.to_string(),
                value: vec![1; 64],
            };
            (name(i), any)
        })
        .collect();
    let snap = Snapshot::from_types(true, [(ENDPOINT.to_string(), endpoints)].into());
    let mut requests: Vec<DiscoveryRequest> = (0..STREAMS)
        .map(|i| DiscoveryRequest {
            type_url: ENDPOINT.to_string(),
            resource_names: vec![name(i)],
            ..Default::default()
        })
        .collect();

    let region = Region::new(GLOBAL);
    let mut streams = Vec::with_capacity(STREAMS);
    for req in &mut requests {
        let mut s = SotwStream::new();
        let resp = s.on_request(req, &snap).responses.pop().expect("answered");
        // The ACK: the stream now remembers what it sent and that it was applied.
        req.version_info = resp.version_info.clone();
        req.response_nonce = resp.nonce.clone();
        drop(resp);
        assert!(s.on_request(req, &snap).responses.is_empty());
        streams.push(s);
    }
    let change = region.change();
    let held = (change.bytes_allocated as isize + change.bytes_reallocated
        - change.bytes_deallocated as isize) as usize;
    let per_stream = held / STREAMS;
    // The stream structs themselves are in `streams`; the rest is each one's heap.
    println!("{per_stream} bytes per stream");
    assert!(
        per_stream <= 450,
        "{per_stream} bytes per stream naming one resource (B-tree leaves hold eleven slots)"
    );
    drop(streams);
}
