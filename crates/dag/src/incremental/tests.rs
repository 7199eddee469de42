use std::sync::Arc;

use super::*;
use crate::builder::build;
use crate::object::ObjectKey;
use crate::testutil::{cache_with, obj, service};

fn proxy(ns: &str, name: &str, spec: &str) -> crate::Object {
    obj(&format!(
        "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n{spec}"
    ))
}

fn root(ns: &str, name: &str, fqdn: &str, svc: &str) -> crate::Object {
    proxy(
        ns,
        name,
        &format!(
            "  virtualhost: {{fqdn: {fqdn}}}\n  routes:\n  - services: [{{name: {svc}, port: 80}}]\n"
        ),
    )
}

fn key(kind: Kind, ns: &str, name: &str) -> ObjectKey {
    ObjectKey {
        kind,
        namespace: ns.to_string(),
        name: name.to_string(),
    }
}

/// The incremental build equals the full one, and says how many roots it reused.
fn check(inc: &mut IncrementalBuild, cache: &Cache, cfg: &BuildConfig) -> (BuildOutput, Reuse) {
    let out = inc.build(cache, cfg);
    assert_eq!(out, build(cache, cfg));
    (out, inc.last_reuse())
}

fn vhost<'a>(out: &'a BuildOutput, fqdn: &str) -> &'a Arc<VirtualHost> {
    out.dag.listeners["ingress_http"]
        .virtual_hosts
        .iter()
        .find(|v| v.fqdn == fqdn)
        .expect("vhost")
}

#[test]
fn unchanged_roots_are_reused_and_shared() {
    let mut cache = cache_with([
        root("a", "p", "a.example.com", "s"),
        root("b", "p", "b.example.com", "s"),
        service("a", "s", 80, "http"),
        service("b", "s", 80, "http"),
    ]);
    let cfg = BuildConfig::default();
    let mut inc = IncrementalBuild::new();
    let (first, r) = check(&mut inc, &cache, &cfg);
    assert_eq!(
        r,
        Reuse {
            reused: 0,
            computed: 2
        }
    );
    // A Service only b's root reads: a's host is the same allocation.
    cache.insert(service("b", "s", 8080, "http"));
    let (second, r) = check(&mut inc, &cache, &cfg);
    assert_eq!(
        r,
        Reuse {
            reused: 1,
            computed: 1
        }
    );
    assert!(Arc::ptr_eq(
        vhost(&first, "a.example.com"),
        vhost(&second, "a.example.com")
    ));
    // A Service nobody reads: everything reused.
    cache.insert(service("c", "s", 80, "http"));
    assert_eq!(check(&mut inc, &cache, &cfg).1.computed, 0);
    // A missing Service appearing is a change to what the root read (as absent).
    cache.remove(&key(Kind::Service, "a", "s"));
    assert_eq!(check(&mut inc, &cache, &cfg).1.computed, 1);
    cache.insert(service("a", "s", 80, "http"));
    assert_eq!(check(&mut inc, &cache, &cfg).1.computed, 1);
    // A configuration change forgets everything.
    let other = BuildConfig {
        disable_permit_insecure: true,
        ..cfg.clone()
    };
    assert_eq!(check(&mut inc, &cache, &other).1.computed, 2);
}

#[test]
fn a_host_shared_with_an_ingress_is_merged_as_the_full_build_does() {
    let ingress = obj("apiVersion: networking.k8s.io/v1\nkind: Ingress\n\
         metadata: {name: i, namespace: a}\n\
         spec:\n  rules:\n  - host: a.example.com\n    http:\n      paths:\n\
         \x20     - {path: /ing, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}\n");
    let mut cache = cache_with([
        root("a", "p", "a.example.com", "s"),
        service("a", "s", 80, "http"),
    ]);
    let cfg = BuildConfig::default();
    let mut inc = IncrementalBuild::new();
    check(&mut inc, &cache, &cfg);
    cache.insert(ingress);
    let (out, _) = check(&mut inc, &cache, &cfg);
    assert_eq!(vhost(&out, "a.example.com").routes.len(), 2);
    cache.remove(&key(Kind::Ingress, "a", "i"));
    let (out, _) = check(&mut inc, &cache, &cfg);
    assert_eq!(vhost(&out, "a.example.com").routes.len(), 1);
}

#[test]
fn a_child_change_recomputes_its_root_and_orphans_follow() {
    let mut cache = cache_with([
        proxy(
            "a",
            "root",
            "  virtualhost: {fqdn: a.example.com}\n  includes:\n  - {name: child, namespace: t}\n",
        ),
        proxy(
            "t",
            "child",
            "  routes:\n  - services: [{name: s, port: 80}]\n",
        ),
        service("t", "s", 80, "http"),
    ]);
    let cfg = BuildConfig::default();
    let mut inc = IncrementalBuild::new();
    check(&mut inc, &cache, &cfg);
    cache.insert(proxy(
        "t",
        "child",
        "  routes:\n  - conditions: [{prefix: /x}]\n    services: [{name: s, port: 80}]\n",
    ));
    assert_eq!(check(&mut inc, &cache, &cfg).1.computed, 1);
    // The root stops including the child: the child is orphaned.
    cache.insert(root("a", "root", "a.example.com", "s"));
    let (out, _) = check(&mut inc, &cache, &cfg);
    assert!(out.status.get("t", "child").unwrap().is_orphaned());
}
