//! The Kubernetes source against the test API server: initial sync, changes, dropped watches,
//! relists after 410 Gone, missing CRDs.

mod common;

use std::time::Duration;

use common::{Fixture, proxy, secret, service};
use contour_dag::{Kind, Object, SourceEvent};
use contour_k8s::source::{self, SourceOptions};
use contour_testkit::apiserver::ResourceType;
use contour_testkit::{ApiServer, ApiServerOptions};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(20);

/// A server without the ExtensionService CRD.
fn server_without_extension_services() -> ApiServer {
    let mut types = ResourceType::core();
    types.extend(
        ResourceType::contour_crds()
            .into_iter()
            .filter(|t| t.kind != "ExtensionService"),
    );
    ApiServer::start_with(ApiServerOptions {
        types,
        ..Default::default()
    })
    .unwrap()
}

async fn next(rx: &mut mpsc::Receiver<SourceEvent>) -> SourceEvent {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("an event in time")
        .expect("source running")
}

/// Events up to and including the first that satisfies `pred`.
async fn until(
    rx: &mut mpsc::Receiver<SourceEvent>,
    pred: impl Fn(&SourceEvent) -> bool,
) -> Vec<SourceEvent> {
    let mut seen = Vec::new();
    loop {
        let ev = next(rx).await;
        let done = pred(&ev);
        seen.push(ev);
        if done {
            return seen;
        }
    }
}

fn upserted(evs: &[SourceEvent], kind: Kind, name: &str) -> bool {
    evs.iter()
        .any(|e| matches!(e, SourceEvent::Upsert(o) if o.kind() == kind && o.key().name == name))
}

fn deleted(evs: &[SourceEvent], name: &str) -> bool {
    evs.iter()
        .any(|e| matches!(e, SourceEvent::Delete(k) if k.name == name))
}

#[tokio::test]
async fn initial_sync_then_changes_with_a_missing_crd() {
    let f = Fixture::with(server_without_extension_services());
    f.server.apply(service("default", "echo")).unwrap();
    f.server
        .apply(proxy("default", "p", "a.example.com", "echo"))
        .unwrap();
    f.server
        .apply(secret("default", "tls", "kubernetes.io/tls"))
        .unwrap();
    f.server
        .apply(secret("default", "helm", "helm.sh/release.v1"))
        .unwrap();
    f.server
        .apply(secret(
            "default",
            "docker",
            "kubernetes.io/dockerconfigjson",
        ))
        .unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    let _src = source::start(f.client("contour").await, &SourceOptions::default(), tx);

    let initial = until(&mut rx, |e| *e == SourceEvent::InitialSyncDone).await;
    assert!(upserted(&initial, Kind::Service, "echo"));
    assert!(upserted(&initial, Kind::HTTPProxy, "p"));
    assert!(upserted(&initial, Kind::Secret, "tls"));
    assert!(
        !upserted(&initial, Kind::Secret, "helm"),
        "field selector skips Helm releases"
    );
    for e in &initial {
        if let SourceEvent::Upsert(o) = e {
            assert!(
                o.meta().managed_fields.is_none(),
                "managedFields stripped: {}",
                o.key()
            );
            if let Object::Secret(s) = o {
                let has_data = s.data.is_some();
                assert_eq!(
                    has_data,
                    s.metadata.name.as_deref() == Some("tls"),
                    "{:?}",
                    s.metadata.name
                );
            }
        }
    }

    f.server
        .apply(proxy("default", "p", "b.example.com", "echo"))
        .unwrap();
    let evs = until(
        &mut rx,
        |e| matches!(e, SourceEvent::Upsert(o) if o.key().name == "p"),
    )
    .await;
    let Some(SourceEvent::Upsert(Object::HTTPProxy(p))) = evs.last() else {
        panic!("{evs:?}")
    };
    assert_eq!(p.spec.virtualhost.as_ref().unwrap().fqdn, "b.example.com");
    f.server.delete("v1", "Service", "default", "echo");
    until(
        &mut rx,
        |e| matches!(e, SourceEvent::Delete(k) if k.name == "echo"),
    )
    .await;
    // The missing CRD is reported once, not retried in a loop.
    let lists = f
        .server
        .requests()
        .iter()
        .filter(|r| r.path.contains("extensionservices"))
        .count();
    assert_eq!(lists, 1);
}

#[tokio::test]
async fn dropped_watches_resume_and_410_relists_without_dropping_live_objects() {
    let f = Fixture::new();
    f.server.apply(service("default", "keep")).unwrap();
    f.server.apply(service("default", "gone")).unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    let opts = SourceOptions {
        watch_namespaces: vec!["default".into()],
        ..Default::default()
    };
    let _src = source::start(f.client("contour").await, &opts, tx);
    until(&mut rx, |e| *e == SourceEvent::InitialSyncDone).await;

    // A dropped watch resumes from its resourceVersion: later changes still arrive.
    f.server.drop_watches();
    f.server.apply(service("default", "late")).unwrap();
    until(
        &mut rx,
        |e| matches!(e, SourceEvent::Upsert(o) if o.key().name == "late"),
    )
    .await;

    // While the server is away an object is deleted and the history compacted: the resumed
    // watch gets 410 Gone, relists, and only the object that is really gone is deleted.
    f.server.set_outage(true);
    contour_testkit::poll_until(WAIT, "every watch closed", || {
        std::future::ready((f.server.open_watches() == 0).then_some(()))
    })
    .await
    .unwrap();
    f.server.delete("v1", "Service", "default", "gone");
    f.server.compact();
    f.server.set_outage(false);
    let evs = until(
        &mut rx,
        |e| matches!(e, SourceEvent::Delete(k) if k.name == "gone"),
    )
    .await;
    assert!(!deleted(&evs, "keep"), "{evs:?}");
    assert!(!deleted(&evs, "late"), "{evs:?}");
    assert!(
        upserted(&evs, Kind::Service, "keep"),
        "the relist re-sends live objects: {evs:?}"
    );
    assert!(!evs.contains(&SourceEvent::InitialSyncDone));
}

#[tokio::test]
async fn watch_namespaces_limit_namespaced_kinds() {
    let f = Fixture::new();
    f.server.apply(service("a", "in-a")).unwrap();
    f.server.apply(service("b", "in-b")).unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    let opts = SourceOptions {
        watch_namespaces: vec!["a".into()],
        ..Default::default()
    };
    let _src = source::start(f.client("contour").await, &opts, tx);
    let initial = until(&mut rx, |e| *e == SourceEvent::InitialSyncDone).await;
    assert!(upserted(&initial, Kind::Service, "in-a"));
    assert!(!upserted(&initial, Kind::Service, "in-b"));
}
