use std::sync::Arc;

use envoy_types::pb::envoy::service::discovery::v3::{DeltaDiscoveryResponse, DiscoveryResponse};
use prost::Message;

use super::*;
use crate::delta::{DeltaResource, DeltaResponse};
use crate::sotw::{Carried, SotwResponse};
use crate::store::Snapshot;
use crate::testutil::any;

/// Resources of every interesting size: empty, small (copied), large (shared).
fn resources() -> Vec<Arc<VersionedResource>> {
    let big = "x".repeat(5000);
    let mid = "y".repeat(SHARE_MIN);
    let types = [(
        "t".to_string(),
        [
            ("empty", ""),
            ("small", "abc"),
            ("big", big.as_str()),
            ("mid", mid.as_str()),
        ]
        .iter()
        .map(|(n, p)| (n.to_string(), any("type.googleapis.com/x.Y", p)))
        .collect(),
    )]
    .into_iter()
    .collect();
    let snap = Snapshot::from_types(true, types);
    snap.get("t").resources().values().cloned().collect()
}

fn joined(chunks: &[Bytes]) -> Vec<u8> {
    chunks.iter().flat_map(|c| c.to_vec()).collect()
}

fn framed<M: Message>(msg: &M) -> Vec<u8> {
    let body = msg.encode_to_vec();
    let mut out = vec![0];
    out.extend((body.len() as u32).to_be_bytes());
    out.extend(body);
    out
}

#[test]
fn sotw_responses_encode_exactly_as_prost_does() {
    for (version, nonce, resources) in [
        ("v1", "7", resources()),
        ("", "", Vec::new()),
        ("abc", "", resources()[..1].to_vec()),
    ] {
        let resp = SotwResponse {
            version_info: version.into(),
            resources: Carried::Named(resources),
            type_url: "t".into(),
            nonce: nonce.into(),
        };
        let chunks = sotw(
            &resp.version_info,
            &resp.resources,
            &resp.type_url,
            &resp.nonce,
            usize::MAX,
        )
        .unwrap();
        let expected = framed(&resp.to_message());
        assert_eq!(joined(&chunks), expected);
        assert_eq!(
            DiscoveryResponse::decode(&expected[5..]).unwrap(),
            resp.to_message()
        );
    }
}

#[test]
fn a_whole_type_is_encoded_once_for_the_responses_in_flight_and_freed_after() {
    let snap = Snapshot::from_types(
        true,
        [("t".to_string(), {
            let all = resources();
            all.iter()
                .enumerate()
                .map(|(i, r)| (format!("r{i}"), r.resource()))
                .collect()
        })]
        .into_iter()
        .collect(),
    );
    let typ = snap.get("t");
    let all: Vec<_> = typ.resources().values().cloned().collect();
    let whole = Carried::All(Arc::clone(typ));
    let send = |nonce: &str| sotw("v1", &whole, "t", nonce, usize::MAX).unwrap();
    let (first, second) = (send("1"), send("2"));
    let expected = SotwResponse {
        version_info: "v1".into(),
        resources: Carried::Named(all),
        type_url: "t".into(),
        nonce: "1".into(),
    };
    assert_eq!(joined(&first), framed(&expected.to_message()));
    // The heads and small values are copied once for both responses, the large values not
    // at all: they are the snapshot's bytes.
    let ptrs = |chunks: &[Bytes]| chunks.iter().map(|c| c.as_ptr()).collect::<Vec<_>>();
    assert_eq!(
        ptrs(&first[1..first.len() - 1]),
        ptrs(&second[1..second.len() - 1])
    );
    for r in typ.resources().values() {
        let shared = first.iter().any(|c| c.as_ptr() == r.value.as_ptr());
        assert_eq!(
            shared,
            r.value.len() >= SHARE_MIN,
            "{} bytes",
            r.value.len()
        );
    }
    assert!(typ.whole_is_held());
    drop((first, second));
    assert!(!typ.whole_is_held(), "freed once no response holds it");
}

#[test]
fn delta_responses_encode_exactly_as_prost_does() {
    let resources: Vec<DeltaResource> = resources()
        .into_iter()
        .enumerate()
        .map(|(i, r)| DeltaResource {
            name: format!("r{i}"),
            resource: r,
        })
        .collect();
    let resp = DeltaResponse {
        system_version_info: "sys".into(),
        resources,
        type_url: "t".into(),
        nonce: "3".into(),
        removed_resources: vec!["gone".into(), String::new()],
    };
    let chunks = delta(
        &resp.system_version_info,
        &resp.resources,
        &resp.type_url,
        &resp.nonce,
        &resp.removed_resources,
        usize::MAX,
    )
    .unwrap();
    let expected = framed(&resp.to_message());
    assert_eq!(joined(&chunks), expected);
    assert_eq!(
        DeltaDiscoveryResponse::decode(&expected[5..]).unwrap(),
        resp.to_message()
    );
}

#[test]
fn large_resources_are_sent_from_the_snapshot_bytes_without_a_copy() {
    let resources = resources();
    let chunks = sotw(
        "v",
        &Carried::Named(resources.clone()),
        "t",
        "1",
        usize::MAX,
    )
    .unwrap();
    for r in &resources {
        let shared = chunks.iter().any(|c| c.as_ptr() == r.value.as_ptr());
        assert_eq!(
            shared,
            r.value.len() >= SHARE_MIN,
            "{} bytes",
            r.value.len()
        );
    }
}

#[test]
fn oversized_responses_are_refused() {
    let err = sotw("v", &Carried::Named(resources()), "t", "1", 100).unwrap_err();
    assert_eq!(err.code(), tonic::Code::OutOfRange);
}
