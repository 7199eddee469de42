use crate::builder::{BuildConfig, build};
use crate::model::{PathMatch, RouteAction};
use crate::status::STATUS_ORPHANED;
use crate::testutil::{cache_with, obj, service};

fn proxy(yaml: &str) -> crate::Object {
    obj(&format!(
        "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\n{yaml}"
    ))
}

fn routes(out: &crate::BuildOutput, fqdn: &str) -> Vec<(PathMatch, String)> {
    let l = &out.dag.listeners["ingress_http"];
    let v = l
        .virtual_hosts
        .iter()
        .find(|v| v.fqdn == fqdn)
        .expect("vhost");
    v.routes
        .values()
        .map(|r| {
            let action = match &r.action {
                RouteAction::Forward(f) => f
                    .clusters
                    .iter()
                    .map(|c| {
                        format!(
                            "{}/{}:{}",
                            c.cluster.service.namespace, c.cluster.service.name, c.weight
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                RouteAction::DirectResponse { status, .. } => status.to_string(),
                RouteAction::Redirect(r) => format!("redirect:{}", r.status_code),
                RouteAction::HttpsRedirect => "301".to_string(),
            };
            (r.path.clone(), action)
        })
        .collect()
}

#[test]
fn include_across_namespaces_joins_prefixes() {
    let cache = cache_with([
        service("team", "app", 80, "http"),
        service("default", "home", 80, "http"),
        proxy(
            "metadata: {name: root, namespace: default}\nspec:\n  virtualhost: {fqdn: Example.com}\n  routes:\n  - services: [{name: home, port: 80}]\n  includes:\n  - {name: child, namespace: team, conditions: [{prefix: /app}]}\n",
        ),
        proxy(
            "metadata: {name: child, namespace: team}\nspec:\n  routes:\n  - conditions: [{prefix: /v1}]\n    services: [{name: app, port: 80, weight: 3}]\n",
        ),
    ]);
    let out = build(&cache, &BuildConfig::default());
    assert_eq!(
        routes(&out, "example.com"),
        vec![
            (PathMatch::Prefix("/".into()), "default/home:0".into()),
            (PathMatch::Prefix("/app/v1".into()), "team/app:3".into()),
        ]
    );
    assert!(out.status.get("team", "child").unwrap().is_valid());
    assert!(out.status.get("default", "root").unwrap().is_valid());
}

#[test]
fn orphan_is_reported_and_not_served() {
    let cache = cache_with([
        service("default", "app", 80, "http"),
        proxy(
            "metadata: {name: lonely}\nspec:\n  routes:\n  - services: [{name: app, port: 80}]\n",
        ),
    ]);
    let out = build(&cache, &BuildConfig::default());
    assert!(out.dag.listeners.is_empty());
    let st = out.status.get("default", "lonely").unwrap().to_api();
    assert_eq!(st.current_status.as_deref(), Some(STATUS_ORPHANED));
    assert_eq!(st.conditions[0].errors[0].reason, "Orphaned");
}

#[test]
fn duplicate_fqdn_invalidates_both() {
    let cache = cache_with([
        service("default", "app", 80, "http"),
        proxy(
            "metadata: {name: a}\nspec:\n  virtualhost: {fqdn: dup.example.com}\n  routes:\n  - services: [{name: app, port: 80}]\n",
        ),
        proxy(
            "metadata: {name: b}\nspec:\n  virtualhost: {fqdn: dup.example.com}\n  routes:\n  - services: [{name: app, port: 80}]\n",
        ),
    ]);
    let out = build(&cache, &BuildConfig::default());
    assert!(out.dag.listeners.is_empty());
    for name in ["a", "b"] {
        let st = out.status.get("default", name).unwrap().to_api();
        let e = &st.conditions[0].errors[0];
        assert_eq!(
            (e.type_.as_str(), e.reason.as_str()),
            ("VirtualHostError", "DuplicateVhost")
        );
        assert_eq!(
            e.message,
            "fqdn \"dup.example.com\" is used in multiple HTTPProxies: default/a, default/b"
        );
        assert_eq!(st.current_status.as_deref(), Some("invalid"));
    }
}

#[test]
fn missing_service_answers_503_and_is_reported() {
    let cache = cache_with([proxy(
        "metadata: {name: root, namespace: roots}\nspec:\n  virtualhost: {fqdn: a.example.com}\n  routes:\n  - services: [{name: invalid, port: 8080}]\n",
    )]);
    let out = build(&cache, &BuildConfig::default());
    assert_eq!(
        routes(&out, "a.example.com"),
        vec![(PathMatch::Prefix("/".into()), "503".into())]
    );
    let st = out.status.get("roots", "root").unwrap().to_api();
    let e = &st.conditions[0].errors[0];
    assert_eq!(e.reason, "ServiceUnresolvedReference");
    assert_eq!(
        e.message,
        "Spec.Routes unresolved service reference: service \"roots/invalid\" not found"
    );
    assert_eq!(st.conditions[0].reason, "ErrorPresent");
}

#[test]
fn missing_include_and_cycle() {
    let cache = cache_with([
        service("default", "app", 80, "http"),
        proxy(
            "metadata: {name: root}\nspec:\n  virtualhost: {fqdn: a.example.com}\n  includes:\n  - {name: nothere, conditions: [{prefix: /missing}]}\n  - {name: c1, conditions: [{prefix: /c}]}\n",
        ),
        proxy(
            "metadata: {name: c1}\nspec:\n  includes:\n  - {name: c2, conditions: [{prefix: /x}]}\n",
        ),
        proxy(
            "metadata: {name: c2}\nspec:\n  routes:\n  - services: [{name: app, port: 80}]\n  includes:\n  - {name: c1, conditions: [{prefix: /y}]}\n",
        ),
    ]);
    let out = build(&cache, &BuildConfig::default());
    let r = routes(&out, "a.example.com");
    assert!(r.contains(&(PathMatch::Prefix("/missing".into()), "502".into())));
    assert!(r.contains(&(PathMatch::Prefix("/c/x".into()), "default/app:0".into())));
    let root = out.status.get("default", "root").unwrap();
    assert_eq!(root.errors[0].reason, "IncludeNotFound");
    // Upstream reports the cycle on the proxy the cycle re-enters.
    let c1 = out.status.get("default", "c1").unwrap();
    assert_eq!(c1.errors[0].reason, "IncludeCreatesCycle");
    assert_eq!(
        c1.errors[0].message,
        "include creates an include cycle: default/root -> default/c1 -> default/c2 -> default/c1"
    );
}

#[test]
fn root_outside_root_namespaces_is_rejected() {
    let cache = cache_with([
        service("default", "app", 80, "http"),
        proxy(
            "metadata: {name: root}\nspec:\n  virtualhost: {fqdn: a.example.com}\n  routes:\n  - services: [{name: app, port: 80}]\n",
        ),
    ]);
    let cfg = BuildConfig {
        root_namespaces: vec!["roots".into()],
        ..Default::default()
    };
    let out = build(&cache, &cfg);
    assert!(out.dag.listeners.is_empty());
    assert_eq!(
        out.status.get("default", "root").unwrap().errors[0].reason,
        "RootProxyNotAllowedInNamespace"
    );
}

#[test]
fn httpproxy_replaces_ingress_route_with_same_match() {
    let cache = cache_with([
        service("default", "ing", 80, "http"),
        service("default", "app", 80, "http"),
        obj(
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec:\n  rules:\n  - host: a.example.com\n    http:\n      paths:\n      - {path: /, pathType: ImplementationSpecific, backend: {service: {name: ing, port: {number: 80}}}}\n",
        ),
        proxy(
            "metadata: {name: root}\nspec:\n  virtualhost: {fqdn: a.example.com}\n  routes:\n  - services: [{name: app, port: 80}]\n",
        ),
    ]);
    let out = build(&cache, &BuildConfig::default());
    assert_eq!(
        routes(&out, "a.example.com"),
        vec![(PathMatch::Prefix("/".into()), "default/app:0".into())]
    );
}

/// Routes forwarding to equal clusters share one (a `Cluster` is a few hundred bytes), and the
/// routes of one proxy share their source; a cluster that differs is not shared.
#[test]
fn routes_share_equal_clusters_and_their_source() {
    use std::sync::Arc;
    let cache = cache_with([
        service("default", "home", 80, "http"),
        proxy(
            "metadata: {name: root, namespace: default}\nspec:\n  virtualhost: {fqdn: example.com}\n  routes:\n  - services: [{name: home, port: 80}]\n  - conditions: [{prefix: /a}]\n    services: [{name: home, port: 80}]\n  - conditions: [{prefix: /b}]\n    services: [{name: home, port: 80}]\n    loadBalancerPolicy: {strategy: Random}\n",
        ),
    ]);
    let out = build(&cache, &BuildConfig::default());
    let vhost = &out.dag.listeners["ingress_http"].virtual_hosts[0];
    let route = |key: &str| &vhost.routes[key];
    let cluster = |key: &str| match &route(key).action {
        RouteAction::Forward(f) => Arc::clone(&f.clusters[0].cluster),
        other => panic!("{other:?}"),
    };
    assert!(Arc::ptr_eq(&cluster("prefix:/"), &cluster("prefix:/a")));
    assert!(!Arc::ptr_eq(&cluster("prefix:/"), &cluster("prefix:/b")));
    assert_eq!(cluster("prefix:/b").lb_strategy, "Random");
    assert!(Arc::ptr_eq(
        &route("prefix:/").source,
        &route("prefix:/b").source
    ));
}
