//! The test API server speaks the real protocol: kube-rs's own client and watcher work against
//! it unchanged.

mod common;

use std::time::Duration;

use common::{Fixture, proxy, secret};
use contour_api::v1::HTTPProxy;
use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;

#[tokio::test]
async fn list_with_pages_and_field_selector() {
    let f = Fixture::new();
    for i in 0..7 {
        f.server
            .apply(secret("a", &format!("tls-{i}"), "kubernetes.io/tls"))
            .unwrap();
        f.server
            .apply(secret("a", &format!("helm-{i}"), "helm.sh/release.v1"))
            .unwrap();
    }
    let client = f.client("reader").await;
    let api: Api<Secret> = Api::namespaced(client.clone(), "a");
    let mut names = Vec::new();
    let mut lp = ListParams::default()
        .limit(3)
        .fields(contour_k8s::source::SECRET_FIELD_SELECTOR);
    loop {
        let page = api.list(&lp).await.unwrap();
        assert!(page.items.len() <= 3);
        names.extend(page.items.iter().filter_map(|s| s.metadata.name.clone()));
        match page.metadata.continue_ {
            Some(c) if !c.is_empty() => lp = lp.continue_token(&c),
            _ => break,
        }
    }
    assert_eq!(
        names,
        (0..7).map(|i| format!("tls-{i}")).collect::<Vec<_>>()
    );
    let all: Api<Secret> = Api::all(client);
    assert_eq!(
        all.list(&ListParams::default()).await.unwrap().items.len(),
        14
    );
}

#[tokio::test]
async fn watch_resumes_from_resource_version_and_expires_after_compaction() {
    let f = Fixture::new();
    let client = f.client("watcher").await;
    let api: Api<Secret> = Api::namespaced(client, "a");
    f.server.apply(secret("a", "one", "Opaque")).unwrap();
    let rv = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    f.server.apply(secret("a", "two", "Opaque")).unwrap();
    assert!(f.server.delete("v1", "Secret", "a", "one"));

    let wp = WatchParams::default().timeout(5);
    let events: Vec<_> = api.watch(&wp, &rv).await.unwrap().take(2).collect().await;
    let kinds: Vec<String> = events
        .into_iter()
        .map(|e| match e.unwrap() {
            WatchEvent::Added(s) => format!("added {}", s.metadata.name.unwrap()),
            WatchEvent::Deleted(s) => format!("deleted {}", s.metadata.name.unwrap()),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(kinds, ["added two", "deleted one"]);

    f.server.compact();
    let mut stream = api.watch(&wp, &rv).await.unwrap().boxed();
    match stream.next().await {
        Some(Ok(WatchEvent::Error(e))) => assert_eq!(e.code, 410, "{e:?}"),
        other => panic!("expected a 410 error event, got {other:?}"),
    }
}

#[tokio::test]
async fn watch_sends_bookmarks() {
    let f = Fixture::with(
        contour_testkit::ApiServer::start_with(contour_testkit::ApiServerOptions {
            bookmark_interval: Duration::from_millis(50),
            ..Default::default()
        })
        .unwrap(),
    );
    let api: Api<Secret> = Api::all(f.client("watcher").await);
    let rv = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut wp = WatchParams::default().timeout(5);
    wp.bookmarks = true;
    let mut stream = api.watch(&wp, &rv).await.unwrap().boxed();
    match tokio::time::timeout(Duration::from_secs(5), stream.next()).await {
        Ok(Some(Ok(WatchEvent::Bookmark(b)))) => assert_eq!(b.metadata.resource_version, rv),
        other => panic!("expected a bookmark, got {other:?}"),
    }
}

#[tokio::test]
async fn status_subresource_with_conflicts() {
    let f = Fixture::new();
    f.server
        .apply(proxy("a", "p", "a.example.com", "s"))
        .unwrap();
    let api: Api<HTTPProxy> = Api::namespaced(f.client("writer").await, "a");
    let stale = api.get("p").await.unwrap();
    assert!(
        stale.metadata.managed_fields.is_some(),
        "the server records managedFields"
    );
    assert_eq!(stale.metadata.generation, Some(1));

    let mut fresh = stale.clone();
    fresh.status = Some(contour_api::v1::HTTPProxyStatus {
        current_status: Some("valid".into()),
        ..Default::default()
    });
    let written = api
        .replace_status("p", &PostParams::default(), &fresh)
        .await
        .unwrap();
    assert_eq!(
        written.status.unwrap().current_status.as_deref(),
        Some("valid")
    );
    assert_eq!(
        written.metadata.generation,
        Some(1),
        "status writes keep the generation"
    );

    let err = api
        .replace_status("p", &PostParams::default(), &stale)
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 409),
        "{err:?}"
    );

    // A spec change bumps the generation and keeps the status.
    let patch = json!({"spec": {"virtualhost": {"fqdn": "b.example.com"}}});
    let after = api
        .patch("p", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    assert_eq!(after.metadata.generation, Some(2));
    assert_eq!(
        after.status.unwrap().current_status.as_deref(),
        Some("valid")
    );
    let patch = json!({"status": {"currentStatus": "invalid"}});
    let after = api
        .patch_status("p", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    assert_eq!(
        after.status.unwrap().current_status.as_deref(),
        Some("invalid")
    );
    assert_eq!(f.server.status_writes_by("writer"), 2);
}

#[tokio::test]
async fn leases_and_unknown_resources() {
    let f = Fixture::with(
        contour_testkit::ApiServer::start_with(contour_testkit::ApiServerOptions {
            types: contour_testkit::apiserver::ResourceType::core(),
            ..Default::default()
        })
        .unwrap(),
    );
    let client = f.client("leader").await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), "projectcontour");
    let lease: Lease = serde_json::from_value(json!({
        "metadata": {"name": "leader-elect"}, "spec": {"holderIdentity": "me", "leaseDurationSeconds": 15}
    }))
    .unwrap();
    leases.create(&PostParams::default(), &lease).await.unwrap();
    let again = leases
        .create(&PostParams::default(), &lease)
        .await
        .unwrap_err();
    assert!(
        matches!(again, kube::Error::Api(ref s) if s.code == 409 && s.reason == "AlreadyExists")
    );
    let proxies: Api<HTTPProxy> = Api::all(client.clone());
    let missing = proxies.list(&ListParams::default()).await.unwrap_err();
    assert!(
        matches!(missing, kube::Error::Api(ref s) if s.code == 404),
        "{missing:?}"
    );
    assert!(client.apiserver_version().await.is_ok());
}
