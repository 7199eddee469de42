//! Whole-translation tests: which resources exist for a DAG, and determinism.

use std::sync::Arc;

use super::*;
use contour_dag::{
    Cluster, Forward, Listener, ObjectRef, PathMatch, Route, RouteAction, ServiceCluster,
    VirtualHost, WeightedCluster,
};
use envoy_types::pb::envoy::config::listener::v3::Listener as EnvoyListener;
use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use prost::Message;

pub(crate) fn service(ns: &str, name: &str, port: u16) -> ServiceCluster {
    ServiceCluster {
        namespace: ns.into(),
        name: name.into(),
        port,
        port_name: String::new(),
        health_port: None,
    }
}

pub(crate) fn forward_to(services: &[(&ServiceCluster, u32)]) -> RouteAction {
    RouteAction::Forward(Forward {
        clusters: services
            .iter()
            .map(|(s, w)| WeightedCluster {
                cluster: Cluster {
                    service: (*s).clone(),
                    ..Default::default()
                }
                .into(),
                weight: *w,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    })
}

pub(crate) fn route(path: PathMatch, action: RouteAction) -> Route {
    Route {
        path,
        headers: vec![],
        query_params: vec![],
        action,
        source: ObjectRef::new("Ingress", "default", "web").into(),
        ..Default::default()
    }
}

pub(crate) fn vhost(fqdn: &str, routes: Vec<Route>) -> VirtualHost {
    VirtualHost {
        fqdn: fqdn.into(),
        routes: routes
            .into_iter()
            .map(|r| (r.match_key(), Box::new(r)))
            .collect(),
        ..Default::default()
    }
}

pub(crate) fn http_dag(vhosts: Vec<VirtualHost>) -> Dag {
    let mut dag = Dag::default();
    dag.listeners.insert(
        "ingress_http".into(),
        Listener {
            name: "ingress_http".into(),
            address: "0.0.0.0".into(),
            port: 8080,
            virtual_hosts: vhosts.into_iter().map(Arc::new).collect(),
            ..Default::default()
        },
    );
    dag
}

fn sample_dag() -> Dag {
    let kuard = service("default", "kuard", 80);
    let echo = service("default", "echo", 8080);
    http_dag(vec![
        vhost(
            "example.com",
            vec![
                route(PathMatch::Prefix("/".into()), forward_to(&[(&kuard, 0)])),
                route(
                    PathMatch::Prefix("/echo".into()),
                    forward_to(&[(&echo, 10), (&kuard, 90)]),
                ),
            ],
        ),
        vhost(
            "*",
            vec![route(
                PathMatch::Prefix("/".into()),
                forward_to(&[(&kuard, 0)]),
            )],
        ),
    ])
}

#[test]
fn dag_without_http_listener_keeps_static_listener_and_empty_routes() {
    let res = translate(&Dag::default(), &TranslateConfig::default());
    assert_eq!(
        res.listeners.keys().collect::<Vec<_>>(),
        vec!["envoy-admin", "stats-health"]
    );
    assert_eq!(res.routes.keys().collect::<Vec<_>>(), vec!["ingress_http"]);
    let rc = RouteConfiguration::decode(res.routes["ingress_http"].value.as_slice()).unwrap();
    assert!(rc.virtual_hosts.is_empty());
    assert!(rc.ignore_port_in_host_matching);
    assert!(res.clusters.is_empty());
    assert!(res.secrets.is_empty());
    assert_eq!(res.runtimes.keys().collect::<Vec<_>>(), vec!["dynamic"]);
}

#[test]
fn http_dag_gives_listener_routes_and_clusters() {
    let res = translate(&sample_dag(), &TranslateConfig::default());
    assert_eq!(
        res.listeners.keys().collect::<Vec<_>>(),
        vec!["envoy-admin", "ingress_http", "stats-health"]
    );
    let l = EnvoyListener::decode(res.listeners["ingress_http"].value.as_slice()).unwrap();
    assert_eq!(l.address, Some(pb::socket_address("0.0.0.0", 8080)));
    assert_eq!(
        res.clusters.keys().collect::<Vec<_>>(),
        vec![
            "default/echo/8080/da39a3ee5e",
            "default/kuard/80/da39a3ee5e"
        ]
    );
    let rc = RouteConfiguration::decode(res.routes["ingress_http"].value.as_slice()).unwrap();
    let names: Vec<_> = rc.virtual_hosts.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, vec!["*", "example.com"]);
}

#[test]
fn type_urls_match_constants() {
    let res = translate(&sample_dag(), &TranslateConfig::default());
    assert!(
        res.listeners
            .values()
            .all(|a| a.type_url == LISTENER_TYPE_URL)
    );
    assert!(res.routes.values().all(|a| a.type_url == ROUTE_TYPE_URL));
    assert!(
        res.clusters
            .values()
            .all(|a| a.type_url == CLUSTER_TYPE_URL)
    );
    assert!(
        res.runtimes
            .values()
            .all(|a| a.type_url == RUNTIME_TYPE_URL)
    );
    let cla = cluster_load_assignment(&contour_dag::LoadAssignment::default());
    assert_eq!(to_any(&cla).type_url, ENDPOINT_TYPE_URL);
    let secret = envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::Secret::default();
    assert_eq!(to_any(&secret).type_url, SECRET_TYPE_URL);
}

#[test]
fn identical_dags_give_identical_bytes() {
    let cfg = TranslateConfig::default();
    let a = translate(&sample_dag(), &cfg);
    // Build the second DAG independently, so no state is shared but the content.
    let b = translate(&sample_dag().clone(), &cfg);
    assert_eq!(a, b);
    for _ in 0..20 {
        assert_eq!(translate(&sample_dag(), &cfg), a);
    }
}

#[test]
fn different_dags_give_different_routes() {
    let cfg = TranslateConfig::default();
    let a = translate(&sample_dag(), &cfg);
    let mut other = sample_dag();
    let vhosts = &mut other
        .listeners
        .get_mut("ingress_http")
        .unwrap()
        .virtual_hosts;
    Arc::make_mut(&mut vhosts[1]).fqdn = "other.com".into();
    let b = translate(&other, &cfg);
    assert_ne!(a.routes, b.routes);
    assert_eq!(a.clusters, b.clusters);
}
