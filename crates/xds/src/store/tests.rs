use super::*;
use crate::testutil::{any, resources};
use crate::type_url::{CLUSTER, ENDPOINT, LISTENER};

#[test]
fn set_type_reports_change_only_when_content_changes() {
    let store = SnapshotStore::new();
    let mut rx = store.subscribe();
    assert!(store.set_type(CLUSTER, resources(CLUSTER, &[("a", "1")])));
    let v1 = store.snapshot().get(CLUSTER).version().to_string();
    assert!(rx.has_changed().unwrap());
    rx.borrow_and_update();

    assert!(!store.set_type(CLUSTER, resources(CLUSTER, &[("a", "1")])));
    assert_eq!(store.snapshot().get(CLUSTER).version(), v1);
    assert!(
        !rx.has_changed().unwrap(),
        "identical input must not notify"
    );

    assert!(store.set_type(CLUSTER, resources(CLUSTER, &[("a", "2")])));
    assert_ne!(store.snapshot().get(CLUSTER).version(), v1);
}

#[test]
fn versions_are_deterministic_across_stores() {
    let a = SnapshotStore::new();
    let b = SnapshotStore::new();
    a.set_type(LISTENER, resources(LISTENER, &[("x", "1"), ("y", "2")]));
    b.set_type(LISTENER, resources(LISTENER, &[("y", "2"), ("x", "1")]));
    assert_eq!(
        a.snapshot().get(LISTENER).version(),
        b.snapshot().get(LISTENER).version()
    );
    let ra = a.snapshot().get(LISTENER).get("x").unwrap().version.clone();
    assert_eq!(ra, resource_version(&any(LISTENER, "1")));
}

#[test]
fn empty_set_on_unknown_type_is_not_a_change() {
    let store = SnapshotStore::new();
    assert!(!store.set_type(CLUSTER, BTreeMap::<String, Any>::new()));
    assert!(store.snapshot().get(CLUSTER).resources().is_empty());
}

#[test]
fn update_resources_upserts_and_removes() {
    let store = SnapshotStore::new();
    store.set_type(ENDPOINT, resources(ENDPOINT, &[("a", "1"), ("b", "1")]));
    let before = store.snapshot().get(ENDPOINT).version().to_string();

    assert!(!store.update_resources(ENDPOINT, resources(ENDPOINT, &[("a", "1")]), &[]));
    assert!(!store.update_resources(
        ENDPOINT,
        BTreeMap::<String, Any>::new(),
        &["missing".to_string()]
    ));
    assert_eq!(store.snapshot().get(ENDPOINT).version(), before);

    assert!(store.update_resources(
        ENDPOINT,
        resources(ENDPOINT, &[("c", "1"), ("a", "2")]),
        &["b".to_string()]
    ));
    let snap = store.snapshot();
    let names: Vec<_> = snap.get(ENDPOINT).resources().keys().cloned().collect();
    assert_eq!(names, ["a", "c"]);
    assert_eq!(
        snap.get(ENDPOINT).get("a").unwrap().resource(),
        any(ENDPOINT, "2")
    );
}

#[test]
fn set_ready_is_idempotent_and_notifies_once() {
    let store = SnapshotStore::new();
    let mut rx = store.subscribe();
    assert!(!store.is_ready());
    store.set_ready();
    assert!(store.is_ready());
    assert!(rx.has_changed().unwrap());
    rx.borrow_and_update();
    store.set_ready();
    assert!(!rx.has_changed().unwrap());
}

#[test]
fn record_counts_and_broadcasts() {
    let store = SnapshotStore::new();
    let mut events = store.events();
    store.record(XdsEvent::Nack {
        stream_id: 1,
        type_url: CLUSTER.to_string(),
        version: "v".into(),
        nonce: "1".into(),
        message: "bad".into(),
        node: "n".into(),
    });
    store.record(XdsEvent::ResponseSent {
        stream_id: 1,
        type_url: CLUSTER.to_string(),
        version: "v".into(),
        nonce: "2".into(),
        resources: 1,
        removed: 0,
        bytes: 10,
    });
    let stats = store.stats();
    assert_eq!(stats.nacks, 1);
    assert_eq!(stats.nacks_by_type[CLUSTER], 1);
    assert_eq!(stats.responses_sent, 1);
    assert_eq!(stats.bytes_by_type[CLUSTER], 10);
    assert!(matches!(events.try_recv(), Ok(XdsEvent::Nack { .. })));
    assert!(matches!(
        events.try_recv(),
        Ok(XdsEvent::ResponseSent { .. })
    ));
}

#[test]
fn set_types_publishes_once_and_only_changed_types() {
    let store = SnapshotStore::new();
    store.set_type(CLUSTER, resources(CLUSTER, &[("c", "1")]));
    let cluster_version = store.snapshot().get(CLUSTER).version().to_string();
    let mut rx = store.subscribe();
    let changed = store.set_types(BTreeMap::from([
        (CLUSTER.to_string(), resources(CLUSTER, &[("c", "1")])),
        (LISTENER.to_string(), resources(LISTENER, &[("l", "1")])),
    ]));
    assert!(changed);
    assert!(rx.has_changed().unwrap());
    let snap = rx.borrow_and_update().clone();
    assert_eq!(snap.get(CLUSTER).version(), cluster_version);
    assert_eq!(snap.get(LISTENER).resources().len(), 1);
    let same = store.set_types(BTreeMap::from([(
        LISTENER.to_string(),
        resources(LISTENER, &[("l", "1")]),
    )]));
    assert!(!same);
    assert!(!rx.has_changed().unwrap());
}

#[test]
fn unchanged_resources_keep_their_entry_and_changed_ones_get_a_new_version() {
    let store = SnapshotStore::new();
    store.set_type(CLUSTER, resources(CLUSTER, &[("a", "1"), ("b", "1")]));
    let before = store.snapshot();
    store.set_type(CLUSTER, resources(CLUSTER, &[("a", "1"), ("b", "2")]));
    let after = store.snapshot();
    let (a0, a1) = (
        before.get(CLUSTER).get("a").unwrap(),
        after.get(CLUSTER).get("a").unwrap(),
    );
    assert!(Arc::ptr_eq(a0, a1), "same bytes: the served entry is kept");
    let b1 = after.get(CLUSTER).get("b").unwrap();
    assert_eq!(b1.version, resource_version(&any(CLUSTER, "2")));
    assert_ne!(before.get(CLUSTER).version(), after.get(CLUSTER).version());
}

#[test]
fn event_sinks_see_every_event_when_a_broadcast_receiver_lags() {
    let store = SnapshotStore::new();
    let seen = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&seen);
    store.on_event(Arc::new(move |ev| {
        if matches!(ev, XdsEvent::Ack { .. }) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }));
    let mut rx = store.events();
    // Envoy opening ~14,000 streams at once produces bursts like this one.
    let n = (EVENT_CAPACITY * 5) as u64;
    for i in 0..n {
        store.record(XdsEvent::Ack {
            stream_id: i,
            type_url: CLUSTER.to_string(),
            version: "v".to_string(),
            nonce: "1".to_string(),
            node: "envoy".to_string(),
        });
    }
    assert_eq!(seen.load(Ordering::Relaxed), n);
    assert!(
        matches!(
            rx.try_recv(),
            Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_))
        ),
        "the broadcast receiver misses events in such a burst"
    );
}

#[test]
fn resources_of_served_types_share_their_type_url() {
    let store = SnapshotStore::new();
    store.set_type(CLUSTER, resources(CLUSTER, &[("a", "1"), ("b", "2")]));
    let snap = store.snapshot();
    for r in snap.get(CLUSTER).resources().values() {
        assert!(
            matches!(r.type_url, std::borrow::Cow::Borrowed(_)),
            "copied"
        );
        assert_eq!(r.type_url, CLUSTER);
    }
    // Any other type URL is kept as given.
    let other = VersionedResource::new(any("type.example/x", "1").into());
    assert_eq!(other.type_url, "type.example/x");
}

/// The store serves the bytes it is handed, not a copy: the translator holds parts of them.
#[test]
fn resources_are_kept_as_handed_over() {
    let store = SnapshotStore::new();
    let value = Bytes::from(vec![7u8; 4096]);
    let resources = BTreeMap::from([("l".to_string(), Resource::new(LISTENER, value.clone()))]);
    assert!(store.set_type(LISTENER, resources.clone()));
    let served = |s: &SnapshotStore| s.snapshot().get(LISTENER).resources()["l"].value.as_ptr();
    assert_eq!(served(&store), value.as_ptr());
    assert!(!store.set_type(LISTENER, resources), "the same bytes again");
    assert_eq!(served(&store), value.as_ptr());
}
