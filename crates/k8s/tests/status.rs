//! The status writer against the test API server.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use common::{Fixture, proxy};
use contour_dag::StatusSet;
use contour_k8s::status::lb::parse_addresses;
use contour_k8s::status::{StatusInput, StatusMetrics, StatusWriter};
use contour_testkit::poll_until;
use serde_json::{Value, json};
use tokio::sync::watch;

fn input(generation: i64, error: Option<&str>) -> StatusInput {
    let key = ("default".to_string(), "p".to_string());
    let mut set = StatusSet::default();
    set.touch(&key, Some(generation), Some("a.example.com"));
    if let Some(msg) = error {
        set.error(&key, "VirtualHostError", "Bad", msg);
    }
    StatusInput {
        proxies: set.proxies,
        ingresses: BTreeSet::from([("default".to_string(), "ing".to_string())]),
        ..Default::default()
    }
}

fn ingress() -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "ing", "namespace": "default"},
           "spec": {"defaultBackend": {"service": {"name": "echo", "port": {"number": 80}}}}})
}

#[tokio::test]
async fn only_the_leader_writes_and_unchanged_statuses_are_not_rewritten() {
    let f = Fixture::new();
    f.server
        .apply(proxy("default", "p", "a.example.com", "echo"))
        .unwrap();
    f.server.apply(ingress()).unwrap();
    let (leader_tx, leader) = watch::channel(false);
    let (input_tx, input_rx) = watch::channel(Arc::new(input(1, None)));
    let (_lb_tx, lb) = watch::channel(parse_addresses("192.0.2.10"));
    let metrics = StatusMetrics::default();
    let _w = StatusWriter {
        client: f.client("w").await,
        metrics: metrics.clone(),
        leader,
        input: input_rx,
        lb,
    }
    .spawn();

    input_tx.send_replace(Arc::new(input(1, None)));
    tokio::task::yield_now().await;
    assert_eq!(f.server.status_writes_by("w"), 0, "not the leader");

    leader_tx.send_replace(true);
    let status = |f: &Fixture| {
        f.server
            .get("projectcontour.io/v1", "HTTPProxy", "default", "p")
            .map(|p| p["status"].clone())
    };
    let st = poll_until(Duration::from_secs(10), "proxy status", || async {
        status(&f).filter(|s| s["currentStatus"] == "valid")
    })
    .await
    .unwrap();
    assert_eq!(st["loadBalancer"]["ingress"][0]["ip"], "192.0.2.10");
    assert_eq!(st["conditions"][0]["type"], "Valid");
    assert_eq!(st["conditions"][0]["observedGeneration"], 1);
    poll_until(Duration::from_secs(10), "ingress lb status", || async {
        f.server
            .get("networking.k8s.io/v1", "Ingress", "default", "ing")
            .filter(|i| i["status"]["loadBalancer"]["ingress"][0]["ip"] == "192.0.2.10")
    })
    .await
    .unwrap();
    let writes = f.server.status_writes_by("w");
    assert_eq!(writes, 2);

    // The same input again: nothing written.
    input_tx.send_replace(Arc::new(input(1, None)));
    input_tx.send_replace(Arc::new(input(1, Some("bad fqdn"))));
    poll_until(Duration::from_secs(10), "invalid status", || async {
        status(&f).filter(|s| s["currentStatus"] == "invalid")
    })
    .await
    .unwrap();
    assert_eq!(f.server.status_writes_by("w"), writes + 1);

    // Someone else's edit of the status is repaired when leadership is regained: a new leader
    // re-sends every status.
    let mut p = f
        .server
        .get("projectcontour.io/v1", "HTTPProxy", "default", "p")
        .unwrap();
    p["status"] = json!({"currentStatus": "tampered"});
    f.server.apply(p).unwrap();
    leader_tx.send_replace(false);
    leader_tx.send_replace(true);
    poll_until(Duration::from_secs(10), "repaired status", || async {
        status(&f).filter(|s| s["currentStatus"] == "invalid")
    })
    .await
    .unwrap();
    let label = StatusMetrics::kind("HTTPProxy");
    // The Ingress is re-checked too; its stored address is already right: a no-op.
    let ingress_noops = || {
        metrics
            .noop
            .get_or_create(&StatusMetrics::kind("Ingress"))
            .get()
    };
    poll_until(Duration::from_secs(10), "an Ingress no-op", || async {
        (ingress_noops() >= 1).then_some(())
    })
    .await
    .unwrap();
    assert_eq!(metrics.failed.get_or_create(&label).get(), 0);
    assert_eq!(metrics.success.get_or_create(&label).get(), 3);
}

/// Without `--ingress-status-address` the addresses follow the Envoy Service's status.
#[tokio::test]
async fn load_balancer_addresses_follow_the_envoy_service() {
    use contour_k8s::status::lb::{self, LbSource};
    let f = Fixture::new();
    let source = LbSource::Service {
        namespace: "projectcontour".into(),
        name: "envoy".into(),
    };
    let (mut rx, _task) = lb::start(f.client("lb").await, source);
    let mut svc = common::service("projectcontour", "envoy");
    svc["status"] = json!({"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}]}});
    f.server.apply(svc.clone()).unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), rx.wait_for(Option::is_some))
        .await
        .unwrap()
        .unwrap()
        .clone();
    let ingress = got.unwrap().ingress.unwrap();
    assert_eq!(ingress[0].hostname.as_deref(), Some("lb.example.com"));
    // Another Service in the namespace does not count; deleting the Envoy Service clears it.
    f.server
        .apply(common::service("projectcontour", "other"))
        .unwrap();
    assert!(f.server.delete("v1", "Service", "projectcontour", "envoy"));
    tokio::time::timeout(Duration::from_secs(10), rx.wait_for(Option::is_none))
        .await
        .unwrap()
        .unwrap();
}

/// The ContourConfiguration in use gets a `Valid` condition; conditions of other types stay,
/// and an unchanged condition is not written again.
#[tokio::test]
async fn contour_configuration_gets_a_valid_condition() {
    use contour_k8s::status::ConditionsKind;
    use contour_k8s::status::conditions::contour_configuration_valid;
    let f = Fixture::new();
    f.server
        .apply(
            json!({"apiVersion": "projectcontour.io/v1alpha1", "kind": "ContourConfiguration",
            "metadata": {"name": "contour", "namespace": "projectcontour"}, "spec": {},
            "status": {"conditions": [{"type": "Other", "status": "True", "reason": "Someone",
                       "message": "else", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}),
        )
        .unwrap();
    let key = (
        ConditionsKind::ContourConfiguration,
        "projectcontour".to_string(),
        "contour".to_string(),
    );
    let input = StatusInput {
        conditions: BTreeMap::from([(key, vec![contour_configuration_valid(Some(1))])]),
        ..Default::default()
    };
    let (_leader_tx, leader) = watch::channel(true);
    let (input_tx, input_rx) = watch::channel(Arc::new(input.clone()));
    let (_lb_tx, lb) = watch::channel(None);
    let metrics = StatusMetrics::default();
    let _w = StatusWriter {
        client: f.client("w").await,
        metrics: metrics.clone(),
        leader,
        input: input_rx,
        lb,
    }
    .spawn();
    input_tx.send_replace(Arc::new(input.clone()));
    let conds = poll_until(Duration::from_secs(10), "Valid condition", || async {
        let cc = f.server.get(
            "projectcontour.io/v1alpha1",
            "ContourConfiguration",
            "projectcontour",
            "contour",
        )?;
        let conds = cc["status"]["conditions"].as_array()?.clone();
        conds.iter().any(|c| c["type"] == "Valid").then_some(conds)
    })
    .await
    .unwrap();
    let valid = conds.iter().find(|c| c["type"] == "Valid").unwrap();
    assert_eq!(valid["status"], "True");
    assert_eq!(valid["reason"], "Valid");
    assert_eq!(valid["message"], "Valid ContourConfiguration");
    assert_eq!(valid["observedGeneration"], 1);
    assert!(valid["lastTransitionTime"].is_string());
    assert!(conds.iter().any(|c| c["type"] == "Other"), "{conds:?}");
    let label = StatusMetrics::kind("ContourConfiguration");
    poll_until(Duration::from_secs(10), "the write counted", || async {
        (metrics.success.get_or_create(&label).get() == 1).then_some(())
    })
    .await
    .unwrap();
    // The same input again (a new build): nothing written.
    input_tx.send_replace(Arc::new(StatusInput {
        ingresses: BTreeSet::from([("x".to_string(), "y".to_string())]),
        ..input
    }));
    tokio::task::yield_now().await;
    assert_eq!(f.server.status_writes_by("w"), 1);
    assert_eq!(metrics.total.get_or_create(&label).get(), 1);
}

/// At scale a build changes one status among thousands: only that one is written. New
/// load-balancer addresses change every proxy's and Ingress's status: all are written again.
#[tokio::test]
async fn only_changed_proxies_are_written_and_new_addresses_rewrite_them_all() {
    let f = Fixture::new();
    let names = ["a", "b", "c"];
    for n in names {
        f.server
            .apply(proxy("default", n, &format!("{n}.example.com"), "echo"))
            .unwrap();
    }
    f.server.apply(ingress()).unwrap();
    let statuses = |b_generation: i64| {
        let mut set = StatusSet::default();
        for n in names {
            let generation = if n == "b" { b_generation } else { 1 };
            let fqdn = format!("{n}.example.com");
            set.touch(&("default".into(), n.into()), Some(generation), Some(&fqdn));
        }
        Arc::new(StatusInput {
            proxies: set.proxies,
            ingresses: BTreeSet::from([("default".to_string(), "ing".to_string())]),
            ..Default::default()
        })
    };
    let (_leader_tx, leader) = watch::channel(true);
    let (input_tx, input_rx) = watch::channel(statuses(1));
    let (lb_tx, lb) = watch::channel(parse_addresses("192.0.2.10"));
    let _w = StatusWriter {
        client: f.client("w").await,
        metrics: StatusMetrics::default(),
        leader,
        input: input_rx,
        lb,
    }
    .spawn();
    input_tx.send_replace(statuses(1));
    let proxy_status = |n: &str| {
        f.server
            .get("projectcontour.io/v1", "HTTPProxy", "default", n)
            .map(|p| p["status"].clone())
    };
    let server = &f.server;
    let writes_reach = |want: usize| {
        poll_until(
            Duration::from_secs(10),
            "status writes",
            move || async move { (server.status_writes_by("w") >= want).then_some(()) },
        )
    };
    writes_reach(4).await.unwrap();
    // The same statuses again (a build that changed none): nothing is written.
    input_tx.send_replace(statuses(1));

    input_tx.send_replace(statuses(2));
    poll_until(Duration::from_secs(10), "b's new generation", || async {
        proxy_status("b").filter(|s| s["conditions"][0]["observedGeneration"] == 2)
    })
    .await
    .unwrap();
    assert_eq!(f.server.status_writes_by("w"), 5, "only b is written again");

    lb_tx.send_replace(parse_addresses("192.0.2.20"));
    writes_reach(9).await.unwrap();
    for n in names {
        let st = proxy_status(n).unwrap();
        assert_eq!(st["loadBalancer"]["ingress"][0]["ip"], "192.0.2.20", "{n}");
    }
    let ing = f
        .server
        .get("networking.k8s.io/v1", "Ingress", "default", "ing")
        .unwrap();
    assert_eq!(
        ing["status"]["loadBalancer"]["ingress"][0]["ip"],
        "192.0.2.20"
    );
    assert_eq!(
        proxy_status("b").unwrap()["conditions"][0]["observedGeneration"],
        2
    );
    tokio::task::yield_now().await;
    assert_eq!(f.server.status_writes_by("w"), 9);
}
