//! The incremental translator gives exactly what a from-scratch translation gives, over a
//! sequence of edits touching every cached part.

use prost::bytes::Bytes;
use std::sync::Arc;

use contour_dag::{
    Dag, ExtensionCluster, Listener, PathMatch, RouteAction, Secret, SecureVirtualHost,
    ServicePolicy, TcpProxy, WeightedService,
};

use crate::tests::{forward_to, http_dag, route, service, vhost};
use crate::{TranslateConfig, Translator, translate};

fn secret(name: &str, cert: &[u8]) -> Secret {
    Secret {
        namespace: "default".into(),
        name: name.into(),
        cert_chain: cert.to_vec().into(),
        private_key: b"key".to_vec().into(),
        served: None,
    }
}

fn secure(fqdn: &str, cert: &[u8]) -> SecureVirtualHost {
    let kuard = service("default", "kuard", 80);
    let mut svh = SecureVirtualHost::new(fqdn);
    svh.virtual_host = vhost(
        fqdn,
        vec![route(
            PathMatch::Prefix("/".into()),
            forward_to(&[(&kuard, 0)]),
        )],
    );
    svh.secret = Some(secret(&format!("{fqdn}-tls"), cert));
    svh
}

fn mixed_dag() -> Dag {
    let kuard = service("default", "kuard", 80);
    let mut dag = http_dag(
        (0..20)
            .map(|i| {
                let svc = service("default", &format!("svc{i}"), 80);
                vhost(
                    &format!("host{i}.example.com"),
                    vec![
                        route(PathMatch::Prefix("/".into()), forward_to(&[(&svc, 0)])),
                        route(
                            PathMatch::Prefix("/both".into()),
                            forward_to(&[(&svc, 30), (&kuard, 70)]),
                        ),
                    ],
                )
            })
            .collect(),
    );
    let mut secure_hosts: Vec<SecureVirtualHost> = (0..5)
        .map(|i| secure(&format!("tls{i}.example.com"), b"cert"))
        .collect();
    let mut passthrough = SecureVirtualHost::new("tcp.example.com");
    passthrough.tcp_proxy = Some(TcpProxy {
        clusters: match forward_to(&[(&kuard, 0)]) {
            RouteAction::Forward(f) => f.clusters,
            _ => unreachable!(),
        },
    });
    secure_hosts.push(passthrough);
    secure_hosts.sort_by(|a, b| a.fqdn().cmp(b.fqdn()));
    dag.listeners.insert(
        "ingress_https".into(),
        Listener {
            name: "ingress_https".into(),
            address: "0.0.0.0".into(),
            port: 8443,
            secure_virtual_hosts: secure_hosts.into_iter().map(Arc::new).collect(),
            ..Default::default()
        },
    );
    dag
}

fn extension(name: &str, protocol: &str) -> ExtensionCluster {
    ExtensionCluster {
        name: format!("extension/default/{name}"),
        services: vec![WeightedService {
            service: service("default", "auth", 9000),
            weight: 0,
        }],
        protocol: protocol.into(),
        client_certificate: Some(secret("envoy-client", b"client")),
        ..Default::default()
    }
}

fn plain(dag: &mut Dag) -> &mut Vec<Arc<contour_dag::VirtualHost>> {
    &mut dag.listeners.get_mut("ingress_http").unwrap().virtual_hosts
}

fn plain_at(dag: &mut Dag, i: usize) -> &mut contour_dag::VirtualHost {
    Arc::make_mut(&mut plain(dag)[i])
}

/// Sends the first route of the third plain host to another Service.
fn reroute_third_host(dag: &mut Dag) {
    let svc = service("default", "svc1", 80);
    plain_at(dag, 2).routes.values_mut().next().unwrap().action = forward_to(&[(&svc, 0)]);
}

fn tls_at(dag: &mut Dag, i: usize) -> &mut SecureVirtualHost {
    Arc::make_mut(&mut tls(dag)[i])
}

fn tls(dag: &mut Dag) -> &mut Vec<Arc<SecureVirtualHost>> {
    &mut dag
        .listeners
        .get_mut("ingress_https")
        .unwrap()
        .secure_virtual_hosts
}

/// The `kuard` cluster of plain host `i`'s `/both` route: every host has its own, all of one
/// name.
fn kuard_at(dag: &mut Dag, i: usize) -> &mut contour_dag::Cluster {
    let both = plain_at(dag, i).routes.get_mut("prefix:/both").unwrap();
    let RouteAction::Forward(f) = &mut both.action else {
        unreachable!()
    };
    Arc::make_mut(&mut f.clusters[1].cluster)
}

/// Adds a plain host `fqdn` sending everything to Service `default/<svc>`.
fn add_host(dag: &mut Dag, fqdn: &str, svc: &str) {
    let svc = service("default", svc, 80);
    plain(dag).push(Arc::new(vhost(
        fqdn,
        vec![route(
            PathMatch::Prefix("/".into()),
            forward_to(&[(&svc, 0)]),
        )],
    )));
}

type Edit = (&'static str, fn(&mut Dag, &mut TranslateConfig));

fn edits() -> Vec<Edit> {
    vec![
        ("nothing", |_, _| {}),
        ("one route's backend", |d, _| {
            let other = service("default", "other", 8080);
            let vh = &mut plain_at(d, 3);
            let r = vh.routes.values_mut().next().unwrap();
            r.action = forward_to(&[(&other, 0)]);
        }),
        ("a cluster of a name used first elsewhere", |d, _| {
            kuard_at(d, 6).service.port_name = "http".into();
        }),
        ("the first cluster of a name", |d, _| {
            // Not part of the name: only the first cluster of the name counts.
            kuard_at(d, 0).service.port_name = "http".into();
        }),
        (
            "a TLS cluster before an equal one with a client certificate",
            |d, _| {
                kuard_at(d, 2).protocol = "tls".into();
                let later = kuard_at(d, 4);
                later.protocol = "tls".into();
                later.client_certificate = Some(Box::new(secret("envoy-client", b"c")));
            },
        ),
        ("the first of equal TLS clusters gone", |d, _| {
            let both = plain_at(d, 2).routes.get_mut("prefix:/both").unwrap();
            let RouteAction::Forward(f) = &mut both.action else {
                unreachable!()
            };
            f.clusters.pop();
        }),
        ("a mirror", |d, _| {
            let route = plain_at(d, 7).routes.get_mut("prefix:/").unwrap();
            let RouteAction::Forward(f) = &mut route.action else {
                unreachable!()
            };
            let mut shadow = contour_dag::Cluster {
                service: service("default", "kuard", 80),
                ..Default::default()
            };
            // The same name as the forwards' kuard clusters, which come first.
            shadow.service.port_name = "mirror".into();
            f.mirror = Some(Box::new(contour_dag::MirrorPolicy {
                cluster: Arc::new(shadow),
                percent: 10,
            }));
        }),
        ("a new virtual host", |d, _| {
            add_host(d, "aaa.example.com", "new");
        }),
        ("a wildcard virtual host", |d, _| {
            add_host(d, "*.example.com", "wild");
        }),
        (
            "the wildcard host's backend, to a name of the same length",
            |d, _| {
                // The same number of bytes: a host in every scope re-translated must not pass for
                // the bytes it replaced.
                let svc = service("default", "wald", 80);
                let wild = plain(d)
                    .iter()
                    .position(|v| v.fqdn == "*.example.com")
                    .unwrap();
                let r = plain_at(d, wild).routes.values_mut().next().unwrap();
                r.action = forward_to(&[(&svc, 0)]);
            },
        ),
        ("a catch-all virtual host", |d, _| {
            add_host(d, "*", "any");
        }),
        ("a removed virtual host", |d, _| {
            plain(d).remove(5);
        }),
        ("a virtual host without routes", |d, _| {
            plain_at(d, 0).routes.clear();
        }),
        ("a secure host's route", |d, _| {
            let other = service("default", "other", 8080);
            let vh = &mut tls_at(d, 1).virtual_host;
            let r = vh.routes.values_mut().next().unwrap();
            r.action = forward_to(&[(&other, 0)]);
        }),
        ("a renewed certificate", |d, _| {
            tls_at(d, 2).secret = Some(secret("tls2.example.com-tls", b"renewed"));
        }),
        ("a fallback certificate", |d, _| {
            tls_at(d, 0).fallback_certificate = Some(secret("fallback", b"fb"));
            tls_at(d, 3).fallback_certificate = Some(secret("fallback", b"fb"));
        }),
        ("a new secure host", |d, _| {
            tls(d).insert(0, Arc::new(secure("a-first.example.com", b"x")));
        }),
        ("a service policy", |d, _| {
            d.services.insert(
                ("default".into(), "svc7".into()),
                ServicePolicy {
                    external_name: Some("example.org".into()),
                    ..Default::default()
                },
            );
        }),
        ("a new extension cluster", |d, _| {
            let e = extension("auth", "h2");
            d.extension_clusters.insert(e.name.clone(), e);
        }),
        ("an extension cluster's protocol", |d, _| {
            let e = extension("auth", "h2c");
            d.extension_clusters.insert(e.name.clone(), e);
        }),
        ("a second extension cluster", |d, _| {
            let e = extension("ratelimit", "h2");
            d.extension_clusters.insert(e.name.clone(), e);
        }),
        ("the configuration", |_, cfg| {
            cfg.connect_timeout = std::time::Duration::from_secs(7);
        }),
        ("every secure host gone", |d, _| {
            d.listeners.remove("ingress_https");
        }),
        ("every plain host gone", |d, _| {
            d.listeners.remove("ingress_http");
        }),
        ("an extension cluster gone", |d, _| {
            d.extension_clusters.remove("extension/default/auth");
        }),
    ]
}

/// What a client holds after applying `changes` to `served`.
pub(crate) fn apply(served: &mut crate::Resources, changes: crate::Changes) {
    changes.apply_to(served);
}

#[test]
fn incremental_equals_from_scratch_after_each_edit() {
    incremental_equals_from_scratch_with(TranslateConfig::default());
}

#[test]
fn incremental_equals_from_scratch_after_each_edit_with_route_scopes() {
    incremental_equals_from_scratch_with(TranslateConfig {
        http_route_scopes: 4,
        ..Default::default()
    });
}

fn incremental_equals_from_scratch_with(start: TranslateConfig) {
    let mut dag = mixed_dag();
    let mut cfg = start.clone();
    let mut t = Translator::new();
    // A second translator that only says what changed, as the event loop uses it.
    let mut c = Translator::new();
    let mut served = crate::Resources::default();
    assert_eq!(t.translate(&dag, &cfg), translate(&dag, &cfg), "first");
    apply(&mut served, c.changes(&dag, &cfg));
    assert_eq!(served, translate(&dag, &cfg), "first changes");
    for (what, edit) in edits() {
        edit(&mut dag, &mut cfg);
        assert_eq!(t.translate(&dag, &cfg), translate(&dag, &cfg), "{what}");
        apply(&mut served, c.changes(&dag, &cfg));
        assert_eq!(served, translate(&dag, &cfg), "{what}: changes");
    }
    // And back to the start, through the same translator.
    let (dag, cfg) = (mixed_dag(), start);
    assert_eq!(t.translate(&dag, &cfg), translate(&dag, &cfg), "restart");
}

#[test]
fn a_route_change_changes_only_its_route_configuration() {
    let cfg = TranslateConfig::default();
    let mut t = Translator::new();
    let mut dag = mixed_dag();
    let before = t.translate(&dag, &cfg);
    // Sorted by fqdn: the passthrough host comes first.
    let vh = &mut tls_at(&mut dag, 1).virtual_host;
    assert_eq!(vh.fqdn, "tls0.example.com");
    let other = service("default", "svc1", 80);
    vh.routes.values_mut().next().unwrap().action = forward_to(&[(&other, 0)]);
    let after = t.translate(&dag, &cfg);
    let changed: Vec<&String> = after
        .routes
        .iter()
        .filter(|(k, v)| before.routes.get(*k) != Some(v))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(changed, vec!["https/tls0.example.com"]);
    assert_eq!(before.listeners, after.listeners);
    assert_eq!(before.secrets, after.secrets);
}

#[test]
fn with_route_scopes_a_plain_route_change_changes_only_its_scope() {
    let cfg = TranslateConfig {
        http_route_scopes: 8,
        ..Default::default()
    };
    let mut t = Translator::new();
    let mut dag = mixed_dag();
    let before = t.translate(&dag, &cfg);
    let scopes: Vec<&String> = before
        .routes
        .keys()
        .filter(|k| k.starts_with("ingress_http"))
        .collect();
    let want: Vec<String> = (0..8).map(crate::scopes::scope_route_config_name).collect();
    assert_eq!(
        scopes,
        want.iter().collect::<Vec<_>>(),
        "every scope, none empty-named"
    );
    reroute_third_host(&mut dag);
    let after = t.translate(&dag, &cfg);
    let changed: Vec<&String> = after
        .routes
        .iter()
        .filter(|(k, v)| before.routes.get(*k) != Some(v))
        .map(|(k, _)| k)
        .collect();
    let k = crate::scopes::scope_of_host("host2.example.com", 8);
    assert_eq!(changed, vec![&crate::scopes::scope_route_config_name(k)]);
}

#[test]
fn changes_name_only_the_changed_types() {
    let cfg = TranslateConfig::default();
    let mut t = Translator::new();
    let mut dag = mixed_dag();
    let first = t.changes(&dag, &cfg);
    assert!(first.listeners.is_some() && first.routes.is_some() && first.clusters.is_some());
    let same = t.changes(&dag, &cfg);
    assert_eq!(
        (same.listeners, same.routes, same.clusters, same.secrets),
        (None, None, None, None),
        "identical input"
    );
    reroute_third_host(&mut dag);
    let route = t.changes(&dag, &cfg);
    assert!(route.routes.is_some());
    assert_eq!(
        (route.listeners, route.clusters, route.secrets),
        (None, None, None)
    );
    tls_at(&mut dag, 2).secret = Some(secret("tls1.example.com-tls", b"renewed"));
    let cert = t.changes(&dag, &cfg);
    assert!(cert.secrets.is_some() && cert.listeners.is_some());
    assert_eq!(cert.clusters, None);
    let e = extension("auth", "h2c");
    dag.extension_clusters.insert(e.name.clone(), e);
    let ext = t.changes(&dag, &cfg);
    let clusters = ext
        .clusters
        .expect("an extension cluster is a cluster change");
    assert!(clusters.contains_key("extension/default/auth"));
    assert_eq!((ext.listeners, ext.routes), (None, None));
}

/// Whether `part`'s bytes lie inside `whole`'s allocation.
fn inside(part: &Bytes, whole: &Bytes) -> bool {
    let (p, w) = (part.as_ptr_range(), whole.as_ptr_range());
    w.start <= p.start && p.end <= w.end
}

/// The remembered virtual hosts and filter chains are held inside the resources they were
/// assembled into (one copy, the one the store serves), also after a change; a resource
/// assembled again with the same bytes is handed on as the same allocation.
#[test]
fn parts_are_held_inside_the_resources_they_were_assembled_into() {
    let cfg = TranslateConfig::default();
    let mut t = Translator::new();
    let mut dag = mixed_dag();
    let check = |t: &Translator, routes: &crate::Encoded, listeners: &crate::Encoded| {
        let http = &routes["ingress_http"];
        let plain: Vec<_> = t
            .http_vhosts
            .outputs_at()
            .filter_map(|(_, v)| v.as_ref())
            .collect();
        assert!(!plain.is_empty());
        assert!(plain.iter().all(|vh| inside(&vh.bytes, http)));
        for vh in t.https_vhosts.outputs_at().filter_map(|(_, v)| v.as_ref()) {
            assert!(inside(&vh.bytes, &routes[&format!("https/{}", vh.name)]));
        }
        let https = &listeners["ingress_https"];
        assert!(t.chains.outputs_at().count() > 0);
        assert!(t.chains.outputs_at().all(|(_, (_, c))| inside(c, https)));
    };
    let first = t.changes(&dag, &cfg);
    let (routes, listeners) = (first.routes.unwrap(), first.listeners.unwrap());
    check(&t, &routes, &listeners);

    reroute_third_host(&mut dag);
    let changed = t.changes(&dag, &cfg).routes.unwrap();
    assert_ne!(changed["ingress_http"], routes["ingress_http"]);
    check(&t, &changed, &listeners);
    // The secure hosts did not change: their configurations are the allocations served.
    let https: Vec<&String> = changed.keys().filter(|n| n.starts_with("https/")).collect();
    assert!(!https.is_empty());
    for name in https {
        assert_eq!(changed[name].as_ptr(), routes[name].as_ptr(), "{name}");
    }

    // A certificate change re-assembles the listeners and route configurations; the
    // unchanged ones are handed on as the allocations already served.
    tls_at(&mut dag, 2).secret = Some(secret("tls1.example.com-tls", b"renewed"));
    let cert = t.changes(&dag, &cfg);
    let (routes, listeners) = (cert.routes.unwrap(), cert.listeners.unwrap());
    assert_eq!(
        routes["ingress_http"].as_ptr(),
        changed["ingress_http"].as_ptr()
    );
    check(&t, &routes, &listeners);
}
