use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::google::rpc::Status;
use rstest::rstest;

use super::*;
use crate::testutil::snapshot;
use crate::type_url::{CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET};

fn request(type_url: &str, names: &[&str], version: &str, nonce: &str) -> DiscoveryRequest {
    DiscoveryRequest {
        type_url: type_url.to_string(),
        resource_names: names.iter().map(|n| n.to_string()).collect(),
        version_info: version.to_string(),
        response_nonce: nonce.to_string(),
        ..Default::default()
    }
}

fn ack_of(resp: &SotwResponse, names: &[&str]) -> DiscoveryRequest {
    request(&resp.type_url, names, &resp.version_info, &resp.nonce)
}

fn nack_of(resp: &SotwResponse, names: &[&str], last_good: &str) -> DiscoveryRequest {
    DiscoveryRequest {
        error_detail: Some(Status {
            code: 3,
            message: "bad config".into(),
            ..Default::default()
        }),
        ..request(&resp.type_url, names, last_good, &resp.nonce)
    }
}

/// Resource payloads (the bytes of each Any), in order.
fn payloads(resp: &SotwResponse) -> Vec<String> {
    resp.resources
        .iter()
        .map(|a| String::from_utf8(a.value.to_vec()).unwrap())
        .collect()
}

fn one(out: Output<SotwResponse>) -> SotwResponse {
    assert_eq!(out.responses.len(), 1, "expected one response: {out:?}");
    out.responses.into_iter().next().unwrap()
}

#[rstest]
#[case::wildcard_empty_names(&[], &["c1", "c2"])]
#[case::wildcard_star(&["*"], &["c1", "c2"])]
#[case::named_existing_only(&["c2", "missing"], &["c2"])]
#[case::named_none_exist(&["missing"], &[])]
fn first_request_is_answered(#[case] names: &[&str], #[case] expected: &[&str]) {
    let snap = snapshot(&[(CLUSTER, &[("c1", "c1"), ("c2", "c2")])]);
    let mut s = SotwStream::new();
    let resp = one(s.on_request(&request(CLUSTER, names, "", ""), &snap));
    assert_eq!(payloads(&resp), expected);
    assert_eq!(resp.type_url, CLUSTER);
    assert_eq!(resp.version_info, snap.get(CLUSTER).version());
    assert!(!resp.nonce.is_empty());
}

#[test]
fn nothing_is_served_before_ready() {
    let ready = snapshot(&[(LISTENER, &[("l", "1")])]);
    let not_ready = Snapshot::from_types(false, Default::default());
    let mut s = SotwStream::new();
    let out = s.on_request(&request(LISTENER, &[], "", ""), &not_ready);
    assert!(out.responses.is_empty());
    let resps = s.on_snapshot(&ready);
    assert_eq!(resps.len(), 1);
    assert_eq!(payloads(&resps[0]), ["1"]);
}

#[test]
fn ack_records_and_sends_nothing() {
    let snap = snapshot(&[(CLUSTER, &[("c", "1")])]);
    let mut s = SotwStream::new();
    let resp = one(s.on_request(&request(CLUSTER, &[], "", ""), &snap));
    let out = s.on_request(&ack_of(&resp, &[]), &snap);
    assert!(out.responses.is_empty());
    assert_eq!(
        out.feedback,
        Some(Feedback::Ack {
            type_url: CLUSTER.into(),
            version: resp.version_info.clone(),
            nonce: resp.nonce.clone()
        })
    );
}

#[test]
fn identical_snapshot_sends_nothing() {
    let snap = snapshot(&[(CLUSTER, &[("c", "1")])]);
    let mut s = SotwStream::new();
    let resp = one(s.on_request(&request(CLUSTER, &[], "", ""), &snap));
    s.on_request(&ack_of(&resp, &[]), &snap);
    let same = snapshot(&[(CLUSTER, &[("c", "1")])]);
    assert!(s.on_snapshot(&same).is_empty());
}

#[test]
fn change_after_ack_is_pushed_with_all_resources() {
    let mut s = SotwStream::new();
    let snap = snapshot(&[(LISTENER, &[("a", "1"), ("b", "1")])]);
    let resp = one(s.on_request(&request(LISTENER, &[], "", ""), &snap));
    s.on_request(&ack_of(&resp, &[]), &snap);
    let next = snapshot(&[(LISTENER, &[("a", "1"), ("b", "2")])]);
    let pushed = s.on_snapshot(&next);
    assert_eq!(pushed.len(), 1);
    assert_eq!(
        payloads(&pushed[0]),
        ["1", "2"],
        "SotW LDS carries everything"
    );
    assert_ne!(pushed[0].nonce, resp.nonce, "nonces are unique per stream");
}

#[test]
fn nack_keeps_last_good_and_is_reported() {
    let mut s = SotwStream::new();
    let good = snapshot(&[(CLUSTER, &[("c", "good")])]);
    let resp = one(s.on_request(&request(CLUSTER, &[], "", ""), &good));
    s.on_request(&ack_of(&resp, &[]), &good);
    let bad = snapshot(&[(CLUSTER, &[("c", "bad")])]);
    let bad_resp = s.on_snapshot(&bad).remove(0);

    let out = s.on_request(&nack_of(&bad_resp, &[], &resp.version_info), &bad);
    assert!(out.responses.is_empty(), "no resend of rejected content");
    assert_eq!(
        out.feedback,
        Some(Feedback::Nack {
            type_url: CLUSTER.into(),
            version: resp.version_info.clone(),
            nonce: bad_resp.nonce.clone(),
            message: "bad config".into()
        })
    );
    assert!(s.on_snapshot(&bad).is_empty());
    let fixed = snapshot(&[(CLUSTER, &[("c", "fixed")])]);
    let pushed = s.on_snapshot(&fixed);
    assert_eq!(payloads(&pushed[0]), ["fixed"]);
}

#[test]
fn stale_nonce_is_ignored() {
    let mut s = SotwStream::new();
    let snap = snapshot(&[(CLUSTER, &[("c", "1")])]);
    let first = one(s.on_request(&request(CLUSTER, &[], "", ""), &snap));
    s.on_request(&ack_of(&first, &[]), &snap);
    let next = snapshot(&[(CLUSTER, &[("c", "2")])]);
    let second = s.on_snapshot(&next).remove(0);
    // A late request carrying the first nonce: neither ACK nor response.
    let out = s.on_request(&ack_of(&first, &[]), &next);
    assert!(out.responses.is_empty());
    assert!(out.feedback.is_none());
    // The real ACK still counts.
    let out = s.on_request(&ack_of(&second, &[]), &next);
    assert!(matches!(out.feedback, Some(Feedback::Ack { .. })));
}

#[test]
fn stale_nonce_with_changed_names_is_answered() {
    let mut s = SotwStream::new();
    let snap = snapshot(&[(ENDPOINT, &[("a", "a1"), ("b", "b1")])]);
    let first = one(s.on_request(&request(ENDPOINT, &["a"], "", ""), &snap));
    s.on_request(&ack_of(&first, &["a"]), &snap);
    let next = snapshot(&[(ENDPOINT, &[("a", "a2"), ("b", "b1")])]);
    let second = s.on_snapshot(&next).remove(0);
    assert_eq!(payloads(&second), ["a2"]);
    // Envoy learned about cluster b and asks for it with the older nonce.
    let out = s.on_request(&ack_of(&first, &["a", "b"]), &next);
    let resp = one(out);
    assert_eq!(payloads(&resp), ["a2", "b1"]);
}

#[test]
fn update_during_unacked_push_waits_for_ack() {
    let mut s = SotwStream::new();
    let v1 = snapshot(&[(CLUSTER, &[("c", "1")])]);
    let r1 = one(s.on_request(&request(CLUSTER, &[], "", ""), &v1));
    let v2 = snapshot(&[(CLUSTER, &[("c", "2")])]);
    assert!(s.on_snapshot(&v2).is_empty(), "r1 is not ACKed yet");
    // The ACK of r1 arrives: the newer content goes out.
    let r2 = one(s.on_request(&ack_of(&r1, &[]), &v2));
    assert_eq!(payloads(&r2), ["2"]);
    // The same holds after a NACK.
    let v3 = snapshot(&[(CLUSTER, &[("c", "3")])]);
    assert!(s.on_snapshot(&v3).is_empty());
    let r3 = one(s.on_request(&nack_of(&r2, &[], &r1.version_info), &v3));
    assert_eq!(payloads(&r3), ["3"]);
}

#[test]
fn named_subscription_only_gets_its_resources() {
    let mut s = SotwStream::new();
    let v1 = snapshot(&[(ENDPOINT, &[("a", "a1"), ("b", "b1")])]);
    let r1 = one(s.on_request(&request(ENDPOINT, &["a"], "", ""), &v1));
    s.on_request(&ack_of(&r1, &["a"]), &v1);
    let v2 = snapshot(&[(ENDPOINT, &[("a", "a1"), ("b", "b2")])]);
    assert!(s.on_snapshot(&v2).is_empty(), "b is not subscribed");
    let v3 = snapshot(&[(ENDPOINT, &[("a", "a3"), ("b", "b2")])]);
    let pushed = s.on_snapshot(&v3);
    assert_eq!(payloads(&pushed[0]), ["a3"]);
}

#[test]
fn subscribe_and_unsubscribe_in_ack() {
    let mut s = SotwStream::new();
    let snap = snapshot(&[(ENDPOINT, &[("a", "a1"), ("b", "b1")])]);
    let r1 = one(s.on_request(&request(ENDPOINT, &["a"], "", ""), &snap));
    let r2 = one(s.on_request(&ack_of(&r1, &["a", "b"]), &snap));
    assert_eq!(payloads(&r2), ["a1", "b1"]);
    let r3 = one(s.on_request(&ack_of(&r2, &["b"]), &snap));
    assert_eq!(payloads(&r3), ["b1"]);
    // Unsubscribing everything from a named subscription is not wildcard.
    let r4 = one(s.on_request(&ack_of(&r3, &[]), &snap));
    assert!(r4.resources.is_empty());
}

#[test]
fn ads_types_are_independent_and_ordered() {
    let mut s = SotwStream::new();
    let v1 = snapshot(&[(LISTENER, &[("l", "1")]), (CLUSTER, &[("c", "1")])]);
    let l = one(s.on_request(&request(LISTENER, &[], "", ""), &v1));
    let c = one(s.on_request(&request(CLUSTER, &[], "", ""), &v1));
    assert_ne!(l.nonce, c.nonce);
    s.on_request(&ack_of(&l, &[]), &v1);
    s.on_request(&ack_of(&c, &[]), &v1);
    let v2 = snapshot(&[(LISTENER, &[("l", "2")]), (CLUSTER, &[("c", "2")])]);
    let pushed = s.on_snapshot(&v2);
    let types: Vec<_> = pushed.iter().map(|r| r.type_url.as_str()).collect();
    assert_eq!(types, [CLUSTER, LISTENER], "clusters before listeners");
}

#[test]
fn node_id_is_kept_from_first_request() {
    let mut s = SotwStream::new();
    let snap = snapshot(&[]);
    let req = DiscoveryRequest {
        node: Some(Node {
            id: "envoy-1".into(),
            ..Default::default()
        }),
        ..request(CLUSTER, &[], "", "")
    };
    let r = one(s.on_request(&req, &snap));
    s.on_request(&ack_of(&r, &[]), &snap);
    assert_eq!(s.node_id(), "envoy-1");
}

/// Content shaped like what Envoy asks contour for: wildcard LDS and CDS, named RDS, EDS, SDS.
fn envoy_content(route_http: &str) -> Snapshot {
    snapshot(&[
        (LISTENER, &[("ingress_http", "l1"), ("ingress_https", "l2")]),
        (CLUSTER, &[("a", "ca"), ("b", "cb")]),
        (ROUTE, &[("ingress_http", route_http), ("https/a", "ra")]),
        (ENDPOINT, &[("a", "ea"), ("b", "eb")]),
        (SECRET, &[("s", "sa")]),
    ])
}

const ENVOY_SUBSCRIPTIONS: [(&str, &[&str]); 5] = [
    (LISTENER, &[]),
    (CLUSTER, &[]),
    (ROUTE, &["ingress_http", "https/a"]),
    (ENDPOINT, &["a", "b"]),
    (SECRET, &["s"]),
];

/// Subscribes like Envoy and ACKs every first response; returns the ACKed responses.
fn subscribe_like_envoy(s: &mut SotwStream, snap: &Snapshot) -> Vec<SotwResponse> {
    let mut acked = Vec::new();
    for (t, names) in ENVOY_SUBSCRIPTIONS {
        let r = one(s.on_request(&request(t, names, "", ""), snap));
        let out = s.on_request(&ack_of(&r, names), snap);
        assert!(
            out.responses.is_empty(),
            "an ACK is never answered: {out:?}"
        );
        acked.push(r);
    }
    acked
}

#[test]
fn repeated_identical_requests_and_acks_send_nothing() {
    let snap = envoy_content("r1");
    let mut s = SotwStream::new();
    let acked = subscribe_like_envoy(&mut s, &snap);
    for (r, (t, names)) in acked.iter().zip(ENVOY_SUBSCRIPTIONS) {
        // The same ACK again, and the initial request again (no nonce), on the same stream.
        let out = s.on_request(&ack_of(r, names), &snap);
        assert!(out.responses.is_empty(), "repeated ACK of {t}: {out:?}");
        let out = s.on_request(&request(t, names, &r.version_info, ""), &snap);
        assert!(
            out.responses.is_empty(),
            "repeated request for {t}: {out:?}"
        );
    }
    assert!(
        s.on_snapshot(&envoy_content("r1")).is_empty(),
        "identical content"
    );
}

#[test]
fn repeated_request_with_other_names_is_answered() {
    let snap = envoy_content("r1");
    let mut s = SotwStream::new();
    subscribe_like_envoy(&mut s, &snap);
    let r = one(s.on_request(&request(ENDPOINT, &["b"], "", ""), &snap));
    assert_eq!(payloads(&r), ["eb"]);
}

#[test]
fn a_route_change_sends_only_routes() {
    let mut s = SotwStream::new();
    subscribe_like_envoy(&mut s, &envoy_content("r1"));
    let changed = envoy_content("r2");
    let pushed = s.on_snapshot(&changed);
    let types: Vec<&str> = pushed.iter().map(|r| r.type_url.as_str()).collect();
    assert_eq!(types, [ROUTE]);
    let out = s.on_request(&ack_of(&pushed[0], &["ingress_http", "https/a"]), &changed);
    assert!(out.responses.is_empty());
    assert!(s.on_snapshot(&envoy_content("r2")).is_empty());
}
