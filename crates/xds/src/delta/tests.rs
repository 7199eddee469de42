use envoy_types::pb::google::rpc::Status;
use rstest::rstest;

use super::*;
use crate::store::resource_version;
use crate::testutil::{any, snapshot};
use crate::type_url::{CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET};

fn request(type_url: &str, subscribe: &[&str], unsubscribe: &[&str]) -> DeltaDiscoveryRequest {
    DeltaDiscoveryRequest {
        type_url: type_url.to_string(),
        resource_names_subscribe: subscribe.iter().map(|n| n.to_string()).collect(),
        resource_names_unsubscribe: unsubscribe.iter().map(|n| n.to_string()).collect(),
        ..Default::default()
    }
}

fn ack_of(resp: &DeltaResponse) -> DeltaDiscoveryRequest {
    DeltaDiscoveryRequest {
        response_nonce: resp.nonce.clone(),
        ..request(&resp.type_url, &[], &[])
    }
}

/// `name=payload` for each resource sent, in order.
fn sent(resp: &DeltaResponse) -> Vec<String> {
    resp.resources
        .iter()
        .map(|r| {
            let payload = r.resource.value.to_vec();
            format!("{}={}", r.name, String::from_utf8(payload).unwrap())
        })
        .collect()
}

fn one(out: Output<DeltaResponse>) -> DeltaResponse {
    assert_eq!(out.responses.len(), 1, "expected one response: {out:?}");
    out.responses.into_iter().next().unwrap()
}

#[rstest]
#[case::lds_empty_is_wildcard(LISTENER, &[], &["a=1", "b=1"])]
#[case::cds_star_is_wildcard(CLUSTER, &["*"], &["a=1", "b=1"])]
#[case::cds_named(CLUSTER, &["b"], &["b=1"])]
#[case::eds_empty_is_not_wildcard(ENDPOINT, &[], &[])]
fn first_request(#[case] type_url: &str, #[case] subscribe: &[&str], #[case] expected: &[&str]) {
    let snap = snapshot(&[(type_url, &[("a", "1"), ("b", "1")])]);
    let mut s = DeltaStream::new();
    let resp = one(s.on_request(&request(type_url, subscribe, &[]), &snap));
    assert_eq!(sent(&resp), expected);
    assert!(resp.removed_resources.is_empty());
    assert_eq!(resp.system_version_info, snap.get(type_url).version());
}

#[test]
fn added_changed_removed() {
    let mut s = DeltaStream::new();
    let v1 = snapshot(&[(CLUSTER, &[("a", "1"), ("b", "1"), ("c", "1")])]);
    let r1 = one(s.on_request(&request(CLUSTER, &[], &[]), &v1));
    assert_eq!(sent(&r1).len(), 3);
    assert!(s.on_request(&ack_of(&r1), &v1).responses.is_empty());

    let v2 = snapshot(&[(CLUSTER, &[("a", "1"), ("b", "2"), ("d", "1")])]);
    let r2 = s.on_snapshot(&v2).remove(0);
    assert_eq!(sent(&r2), ["b=2", "d=1"], "only changed and added");
    assert_eq!(r2.removed_resources, ["c"]);
    assert!(
        s.on_snapshot(&v2).is_empty(),
        "identical snapshot sends nothing"
    );
}

#[test]
fn initial_resource_versions_are_honoured() {
    let snap = snapshot(&[(CLUSTER, &[("a", "1"), ("b", "1")])]);
    let mut req = request(CLUSTER, &[], &[]);
    req.initial_resource_versions = [
        ("a".to_string(), resource_version(&any(CLUSTER, "1"))),
        ("b".to_string(), "stale".to_string()),
        ("gone".to_string(), "x".to_string()),
    ]
    .into_iter()
    .collect();
    let mut s = DeltaStream::new();
    let resp = one(s.on_request(&req, &snap));
    assert_eq!(sent(&resp), ["b=1"]);
    assert_eq!(resp.removed_resources, ["gone"]);
}

#[test]
fn subscribe_and_unsubscribe() {
    let mut s = DeltaStream::new();
    let v1 = snapshot(&[(ENDPOINT, &[("a", "1"), ("b", "1")])]);
    let r1 = one(s.on_request(&request(ENDPOINT, &["a"], &[]), &v1));
    assert_eq!(sent(&r1), ["a=1"]);
    // Subscribe to b in the ACK.
    let mut req = ack_of(&r1);
    req.resource_names_subscribe = vec!["b".into()];
    let r2 = one(s.on_request(&req, &v1));
    assert_eq!(sent(&r2), ["b=1"]);
    // Unsubscribe a: no response, and changes to a are no longer sent.
    let out = s.on_request(&request(ENDPOINT, &[], &["a"]), &v1);
    assert!(out.responses.is_empty());
    let v2 = snapshot(&[(ENDPOINT, &[("a", "2"), ("b", "1")])]);
    assert!(s.on_snapshot(&v2).is_empty());
    // Subscribing again sends it again.
    let r3 = one(s.on_request(&request(ENDPOINT, &["a"], &[]), &v2));
    assert_eq!(sent(&r3), ["a=2"]);
}

#[test]
fn missing_named_resource_is_reported_removed_once() {
    let mut s = DeltaStream::new();
    let v1 = snapshot(&[(ENDPOINT, &[("a", "1")])]);
    let r1 = one(s.on_request(&request(ENDPOINT, &["a", "nope"], &[]), &v1));
    assert_eq!(sent(&r1), ["a=1"]);
    assert_eq!(r1.removed_resources, ["nope"]);
    assert!(s.on_snapshot(&v1).is_empty());
    let v2 = snapshot(&[(ENDPOINT, &[("a", "1"), ("nope", "1")])]);
    assert_eq!(sent(&s.on_snapshot(&v2)[0]), ["nope=1"]);
}

#[test]
fn nack_is_reported_and_not_resent() {
    let mut s = DeltaStream::new();
    let v1 = snapshot(&[(CLUSTER, &[("a", "1")])]);
    let r1 = one(s.on_request(&request(CLUSTER, &[], &[]), &v1));
    let ack = s.on_request(&ack_of(&r1), &v1);
    assert_eq!(
        ack.feedback,
        Some(Feedback::Ack {
            type_url: CLUSTER.into(),
            version: r1.system_version_info.clone(),
            nonce: r1.nonce.clone()
        })
    );
    let bad = snapshot(&[(CLUSTER, &[("a", "bad")])]);
    let r2 = s.on_snapshot(&bad).remove(0);
    let mut nack = ack_of(&r2);
    nack.error_detail = Some(Status {
        code: 3,
        message: "rejected".into(),
        ..Default::default()
    });
    let out = s.on_request(&nack, &bad);
    assert!(out.responses.is_empty());
    assert!(matches!(
        out.feedback,
        Some(Feedback::Nack { ref message, ref nonce, .. }) if message == "rejected" && *nonce == r2.nonce
    ));
    assert!(s.on_snapshot(&bad).is_empty());
    let fixed = snapshot(&[(CLUSTER, &[("a", "fixed")])]);
    assert_eq!(sent(&s.on_snapshot(&fixed)[0]), ["a=fixed"]);
}

#[test]
fn waits_for_ready() {
    let mut s = DeltaStream::new();
    let not_ready = Snapshot::from_types(false, Default::default());
    assert!(
        s.on_request(&request(LISTENER, &[], &[]), &not_ready)
            .responses
            .is_empty()
    );
    let ready = snapshot(&[]);
    let resps = s.on_snapshot(&ready);
    assert_eq!(resps.len(), 1, "empty first response once ready");
    assert!(resps[0].resources.is_empty());
}

#[test]
fn unsubscribing_wildcard_forgets_unnamed_resources() {
    let mut s = DeltaStream::new();
    let v1 = snapshot(&[(CLUSTER, &[("a", "1"), ("b", "1")])]);
    one(s.on_request(&request(CLUSTER, &["*", "a"], &[]), &v1));
    assert!(
        s.on_request(&request(CLUSTER, &[], &["*"]), &v1)
            .responses
            .is_empty()
    );
    let v2 = snapshot(&[(CLUSTER, &[("a", "2"), ("b", "2")])]);
    assert_eq!(sent(&s.on_snapshot(&v2)[0]), ["a=2"]);
}

/// Content shaped like what Envoy asks contour for: wildcard LDS and CDS, named RDS, EDS, SDS.
fn envoy_content(https_a: &str) -> Snapshot {
    snapshot(&[
        (LISTENER, &[("ingress_http", "l1"), ("ingress_https", "l2")]),
        (CLUSTER, &[("a", "ca"), ("b", "cb")]),
        (
            ROUTE,
            &[
                ("ingress_http", "rh"),
                ("https/a", https_a),
                ("https/b", "rb"),
            ],
        ),
        (ENDPOINT, &[("a", "ea"), ("b", "eb")]),
        (SECRET, &[("s", "sa")]),
    ])
}

const ENVOY_SUBSCRIPTIONS: [(&str, &[&str]); 5] = [
    (LISTENER, &[]),
    (CLUSTER, &[]),
    (ROUTE, &["ingress_http", "https/a", "https/b"]),
    (ENDPOINT, &["a", "b"]),
    (SECRET, &["s"]),
];

#[test]
fn a_route_change_sends_only_the_changed_route_configuration() {
    let v1 = envoy_content("ra1");
    let mut s = DeltaStream::new();
    for (t, names) in ENVOY_SUBSCRIPTIONS {
        let r = one(s.on_request(&request(t, names, &[]), &v1));
        let out = s.on_request(&ack_of(&r), &v1);
        assert!(
            out.responses.is_empty(),
            "an ACK is never answered: {out:?}"
        );
        // The same subscription again: nothing new to send.
        let out = s.on_request(&request(t, names, &[]), &v1);
        assert!(
            out.responses.is_empty(),
            "repeated request for {t}: {out:?}"
        );
    }
    let v2 = envoy_content("ra2");
    let pushed = s.on_snapshot(&v2);
    assert_eq!(pushed.len(), 1, "{pushed:?}");
    assert_eq!(pushed[0].type_url, ROUTE);
    assert_eq!(sent(&pushed[0]), ["https/a=ra2"]);
    assert!(pushed[0].removed_resources.is_empty());
    assert!(s.on_request(&ack_of(&pushed[0]), &v2).responses.is_empty());
    assert!(
        s.on_snapshot(&envoy_content("ra2")).is_empty(),
        "identical content"
    );
}
