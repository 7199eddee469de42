//! `Dag::clusters`: distinct clusters by service, port and policy, the first one met winning.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::*;

fn cluster(ns: &str, name: &str, port: u16, health_port: Option<u16>) -> Cluster {
    Cluster {
        service: ServiceCluster {
            namespace: ns.into(),
            name: name.into(),
            port,
            health_port: health_port.map(|port| HealthPort {
                port,
                name: String::new(),
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn host(fqdn: &str, routes: Vec<(Vec<Cluster>, Option<Cluster>)>) -> Arc<VirtualHost> {
    let routes = routes
        .into_iter()
        .enumerate()
        .map(|(i, (clusters, mirror))| {
            let route = Route {
                path: PathMatch::Prefix(format!("/{i}")),
                action: RouteAction::Forward(Forward {
                    clusters: clusters
                        .into_iter()
                        .map(|cluster| WeightedCluster {
                            cluster: cluster.into(),
                            ..Default::default()
                        })
                        .collect(),
                    mirror: mirror.map(|cluster| {
                        Box::new(crate::policy::MirrorPolicy {
                            cluster: cluster.into(),
                            percent: 100,
                        })
                    }),
                }),
                ..Default::default()
            };
            (route.match_key(), Box::new(route))
        })
        .collect::<BTreeMap<_, _>>();
    Arc::new(VirtualHost {
        fqdn: fqdn.into(),
        routes,
        ..Default::default()
    })
}

#[test]
fn clusters_are_sorted_distinct_and_the_first_met_wins() {
    let mut dag = Dag::default();
    dag.listeners.insert(
        HTTP_LISTENER_NAME.into(),
        Listener {
            virtual_hosts: vec![
                host(
                    "a",
                    vec![
                        (vec![cluster("n", "b", 80, Some(81))], None),
                        (
                            vec![cluster("n", "a", 80, None)],
                            Some(cluster("n", "m", 80, None)),
                        ),
                    ],
                ),
                host("b", vec![(vec![cluster("n", "b", 80, None)], None)]),
            ],
            ..Default::default()
        },
    );
    let got: Vec<(&str, Option<u16>)> = dag
        .clusters()
        .iter()
        .map(|c| {
            let s = &c.service;
            (s.name.as_str(), s.health_port.as_ref().map(|h| h.port))
        })
        .collect();
    // `n/b:80` appears twice under one name: host a's (with its health port) is met first.
    assert_eq!(got, vec![("a", None), ("b", Some(81)), ("m", None)]);
}

/// Every route carries these; the rarely set parts are boxed or shared so that a route with one
/// plain forward stays small (it was 744 bytes plus 776 per weighted cluster).
#[test]
fn routes_and_weighted_clusters_stay_small() {
    use std::mem::size_of;
    assert!(size_of::<Route>() <= 320, "Route: {}", size_of::<Route>());
    let wc = size_of::<WeightedCluster>();
    assert!(wc <= 64, "WeightedCluster: {wc}");
    let p = size_of::<crate::policy::RoutePolicy>();
    assert!(p <= 128, "RoutePolicy: {p}");
}
