//! Over a long sequence of edits to a generated cluster, the incremental build (what `contour
//! serve` uses) gives exactly the DAG and the statuses of a from-scratch build of the same cache,
//! under several configurations; and a one-route change recomputes one root.

use contour_bench::generate::{Shape, cluster};
use contour_bench::{load, objects};
use contour_dag::{BuildConfig, Cache, IncrementalBuild, Kind, Object, ObjectKey, build};

enum Op {
    Apply(String),
    Delete(Kind, String, String),
}

fn apply(yaml: impl Into<String>) -> Op {
    Op::Apply(yaml.into())
}

fn delete(kind: Kind, ns: &str, name: &str) -> Op {
    Op::Delete(kind, ns.to_string(), name.to_string())
}

fn proxy(ns: &str, name: &str, spec: &str) -> String {
    format!(
        "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n{spec}"
    )
}

fn root(ns: &str, name: &str, fqdn: &str, rest: &str) -> String {
    proxy(
        ns,
        name,
        &format!("  virtualhost:\n    fqdn: {fqdn}\n{rest}"),
    )
}

fn route(prefix: &str, svc: &str) -> String {
    format!(
        "  - conditions: [{{prefix: \"{prefix}\"}}]\n    services: [{{name: {svc}, port: 80}}]\n"
    )
}

fn service(ns: &str, name: &str, extra: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: {ns}{extra}}}\n\
         spec:\n  ports:\n  - {{name: http, port: 80}}\n"
    )
}

fn external_service(ns: &str, name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: {ns}}}\n\
         spec:\n  type: ExternalName\n  externalName: example.org\n  ports:\n  - {{name: http, port: 80}}\n"
    )
}

fn ingress(ns: &str, name: &str, host: &str, path: &str, svc: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {{name: {name}, namespace: {ns}}}\n\
         spec:\n  rules:\n  - host: {host}\n    http:\n      paths:\n\
         \x20     - {{path: {path}, pathType: Prefix, backend: {{service: {{name: {svc}, port: {{number: 80}}}}}}}}\n"
    )
}

fn delegation(ns: &str, secret: &str, target: &str) -> String {
    format!(
        "apiVersion: projectcontour.io/v1\nkind: TLSCertificateDelegation\nmetadata: {{name: d, namespace: {ns}}}\n\
         spec:\n  delegations:\n  - {{secretName: {secret}, targetNamespaces: [{target}]}}\n"
    )
}

fn extension(ns: &str, name: &str, svc: &str) -> String {
    format!(
        "apiVersion: projectcontour.io/v1alpha1\nkind: ExtensionService\nmetadata: {{name: {name}, namespace: {ns}}}\n\
         spec: {{services: [{{name: {svc}, port: 80}}]}}\n"
    )
}

/// The edits, in order (each one or more operations), named for the failure message.
fn edits() -> Vec<(&'static str, Vec<Op>)> {
    use Kind::*;
    let r3 = format!("  routes:\n{}", route("/", "svc-2"));
    vec![
        (
            "a route's backend",
            vec![apply(root("bench-0", "proxy-3", "host-3.bench.local", &r3))],
        ),
        (
            "a new root",
            vec![apply(root("bench-0", "proxy-new", "new.bench.local", &r3))],
        ),
        (
            "a duplicate FQDN",
            vec![apply(root("bench-1", "dup", "host-3.bench.local", &r3))],
        ),
        (
            "the duplicate, upper-cased",
            vec![apply(root("bench-1", "dup", "HOST-3.bench.local", &r3))],
        ),
        (
            "the duplicate gone",
            vec![delete(HTTPProxy, "bench-1", "dup")],
        ),
        (
            "a child's routes",
            vec![apply(proxy(
                "team-0",
                "proxy-9",
                &format!("  routes:\n{}", route("/c", "svc-9")),
            ))],
        ),
        (
            "an include of a missing child",
            vec![apply(root(
                "bench-0",
                "proxy-8",
                "host-8.bench.local",
                "  includes:\n  - {name: nope, namespace: team-0, conditions: [{prefix: /team}]}\n",
            ))],
        ),
        (
            "a second root includes the child",
            vec![apply(root(
                "bench-0",
                "proxy-18",
                "host-18.bench.local",
                "  includes:\n  - {name: proxy-9, namespace: team-0, conditions: [{prefix: /t}]}\n",
            ))],
        ),
        (
            "the first root includes it again",
            vec![apply(root(
                "bench-0",
                "proxy-8",
                "host-8.bench.local",
                "  includes:\n  - {name: proxy-9, namespace: team-0, conditions: [{prefix: /team}]}\n",
            ))],
        ),
        (
            "an include cycle",
            vec![
                apply(proxy(
                    "team-0",
                    "proxy-9",
                    "  includes:\n  - {name: proxy-19, namespace: team-0, conditions: [{prefix: /x}]}\n",
                )),
                apply(proxy(
                    "team-0",
                    "proxy-19",
                    "  includes:\n  - {name: proxy-9, namespace: team-0, conditions: [{prefix: /y}]}\n",
                )),
            ],
        ),
        (
            "a root includes a root",
            vec![apply(root(
                "bench-0",
                "proxy-28",
                "host-28.bench.local",
                "  includes:\n  - {name: proxy-27, namespace: bench-0}\n",
            ))],
        ),
        (
            "a child's Service gone",
            vec![delete(Service, "team-0", "svc-39")],
        ),
        (
            "the child's Service back",
            vec![apply(service("team-0", "svc-39", ""))],
        ),
        (
            "a Service's circuit breakers",
            vec![apply(service(
                "bench-0",
                "svc-1",
                ", annotations: {projectcontour.io/max-connections: '9'}",
            ))],
        ),
        (
            "an ExternalName Service",
            vec![apply(external_service("bench-0", "svc-2"))],
        ),
        (
            "a TLS Secret gone",
            vec![delete(Secret, "bench-0", "tls-0")],
        ),
        (
            "a TLS Secret, invalid",
            vec![apply(
                "apiVersion: v1\nkind: Secret\nmetadata: {name: tls-0, namespace: bench-0}\n\
            type: kubernetes.io/tls\ndata: {tls.crt: Zm9v, tls.key: YmFy}\n",
            )],
        ),
        (
            "a certificate from another namespace",
            vec![apply(root(
                "bench-0",
                "proxy-5",
                "host-5.bench.local",
                &format!(
                    "    tls: {{secretName: bench-1/tls-100}}\n  routes:\n{}",
                    route("/", "svc-5")
                ),
            ))],
        ),
        (
            "its delegation",
            vec![apply(delegation("bench-1", "tls-100", "bench-0"))],
        ),
        (
            "the delegation to another namespace",
            vec![apply(delegation("bench-1", "tls-100", "bench-7"))],
        ),
        (
            "the delegation to all",
            vec![apply(delegation("bench-1", "tls-100", "'*'"))],
        ),
        (
            "the delegation gone",
            vec![delete(TLSCertificateDelegation, "bench-1", "d")],
        ),
        (
            "an Ingress on a root's host",
            vec![apply(ingress(
                "bench-0",
                "ing",
                "host-4.bench.local",
                "/ing",
                "svc-4",
            ))],
        ),
        (
            "the Ingress on the same path",
            vec![apply(ingress(
                "bench-0",
                "ing",
                "host-4.bench.local",
                "/",
                "svc-1",
            ))],
        ),
        (
            "the Ingress on its own host",
            vec![apply(ingress(
                "bench-0",
                "ing",
                "ing.bench.local",
                "/",
                "svc-1",
            ))],
        ),
        ("the Ingress gone", vec![delete(Ingress, "bench-0", "ing")]),
        (
            "an ExtensionService",
            vec![apply(extension("bench-0", "ext", "svc-1"))],
        ),
        (
            "an ExtensionService without Service",
            vec![apply(extension("bench-0", "ext2", "missing"))],
        ),
        (
            "a root without routes",
            vec![apply(root(
                "bench-0",
                "proxy-12",
                "host-12.bench.local",
                "",
            ))],
        ),
        (
            "a root with both IP filters",
            vec![apply(root(
                "bench-0",
                "proxy-13",
                "host-13.bench.local",
                &format!(
                    "    ipAllowPolicy: [{{source: Peer, cidr: 10.0.0.0/8}}]\n    ipDenyPolicy: [{{source: Peer, cidr: 10.1.0.0/16}}]\n  routes:\n{}",
                    route("/", "svc-13")
                ),
            ))],
        ),
        (
            "a route with an invalid prefix",
            vec![apply(root(
                "bench-0",
                "proxy-14",
                "host-14.bench.local",
                &format!(
                    "  routes:\n{}{}",
                    route("/", "svc-14"),
                    route("nope", "svc-14")
                ),
            ))],
        ),
        (
            "a root becomes a child (orphaned)",
            vec![apply(proxy(
                "bench-0",
                "proxy-15",
                &format!("  routes:\n{}", route("/", "svc-15")),
            ))],
        ),
        (
            "a TCP proxy with passthrough",
            vec![apply(root(
                "bench-0",
                "proxy-16",
                "host-16.bench.local",
                "    tls: {passthrough: true}\n  tcpproxy:\n    services: [{name: svc-16, port: 80}]\n",
            ))],
        ),
        (
            "a fallback certificate",
            vec![apply(root(
                "bench-0",
                "proxy-20",
                "host-20.bench.local",
                &format!(
                    "    tls: {{secretName: tls-20, enableFallbackCertificate: true}}\n  routes:\n{}",
                    route("/", "svc-20")
                ),
            ))],
        ),
        (
            "permitInsecure",
            vec![apply(root(
                "bench-0",
                "proxy-25",
                "host-25.bench.local",
                "    tls: {secretName: tls-25}\n  routes:\n  - services: [{name: svc-25, port: 80}]\n    permitInsecure: true\n",
            ))],
        ),
        (
            "a root and its file gone",
            (30..40)
                .filter(|i| i % 10 != 9)
                .map(|i| delete(HTTPProxy, "bench-0", &format!("proxy-{i}")))
                .collect(),
        ),
        (
            "a new namespace's root",
            vec![
                apply(root(
                    "fresh",
                    "p",
                    "fresh.bench.local",
                    &format!("  routes:\n{}", route("/", "s")),
                )),
                apply(service("fresh", "s", "")),
            ],
        ),
    ]
}

/// One object, with CRD defaults applied when admission accepts it; kept anyway when it does
/// not, so that invalid objects reach the build (as they would without the admission webhook).
fn decode(yaml: &str) -> Object {
    let mut value: serde_json::Value = serde_norway::from_str(yaml).unwrap();
    let api = value["apiVersion"].as_str().unwrap().to_string();
    let kind = Kind::from_type(&api, value["kind"].as_str().unwrap()).unwrap();
    let mut admitted = value.clone();
    if contour_api::admission::admit(&mut admitted).is_ok() {
        value = admitted;
    }
    Object::from_json(kind, value).unwrap()
}

/// After some edits, an error reason the full build reports on a proxy: the edit did what its
/// name says.
fn expected_error(what: &str) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match what {
        "a duplicate FQDN" | "the duplicate, upper-cased" => {
            ("bench-0", "proxy-3", "DuplicateVhost")
        }
        "an include of a missing child" => ("bench-0", "proxy-8", "IncludeNotFound"),
        "an include cycle" => ("team-0", "proxy-9", "IncludeCreatesCycle"),
        "a root includes a root" => ("bench-0", "proxy-28", "RootIncludesRoot"),
        "a child's Service gone" => ("team-0", "proxy-39", "ServiceUnresolvedReference"),
        "a TLS Secret gone" | "a TLS Secret, invalid" => ("bench-0", "proxy-0", "SecretNotValid"),
        "a certificate from another namespace"
        | "the delegation to another namespace"
        | "the delegation gone" => ("bench-0", "proxy-5", "DelegationNotPermitted"),
        "a root without routes" => ("bench-0", "proxy-12", "NothingDefined"),
        "a root with both IP filters" => ("bench-0", "proxy-13", "IncompatibleIPAddressFilters"),
        "a route with an invalid prefix" => ("bench-0", "proxy-14", "PathMatchConditionsNotValid"),
        "a root becomes a child (orphaned)" => ("bench-0", "proxy-15", "Orphaned"),
        _ => return None,
    })
}

fn run(op: &Op, cache: &mut Cache) {
    match op {
        Op::Apply(yaml) => {
            cache.insert(decode(yaml));
        }
        Op::Delete(kind, ns, name) => {
            cache.remove(&ObjectKey {
                kind: *kind,
                namespace: ns.clone(),
                name: name.clone(),
            });
        }
    }
}

fn configurations() -> Vec<(&'static str, BuildConfig)> {
    let mut rich = BuildConfig {
        fallback_certificate: Some(("bench-0".into(), "tls-10".into())),
        ..Default::default()
    };
    rich.global_headers
        .request_set
        .insert("X-Global".into(), "1".into());
    rich.global_headers.apply_to_ingress = true;
    vec![
        ("default", BuildConfig::default()),
        ("global headers and fallback", rich),
        (
            "root namespaces, no permitInsecure, ExternalName on",
            BuildConfig {
                root_namespaces: vec!["bench-0".into(), "fresh".into()],
                disable_permit_insecure: true,
                enable_external_name_service: true,
                ..Default::default()
            },
        ),
    ]
}

#[test]
fn incremental_build_equals_a_full_one_over_edits() {
    let files = cluster(Shape {
        proxies: 200,
        unrelated_secrets: 0,
    });
    for (name, cfg) in configurations() {
        let (mut cache, _) = load(objects(&files).unwrap());
        let mut inc = IncrementalBuild::new();
        assert_eq!(
            inc.build(&cache, &cfg),
            build(&cache, &cfg),
            "{name}: first"
        );
        for (what, ops) in edits() {
            for op in &ops {
                run(op, &mut cache);
            }
            let got = inc.build(&cache, &cfg);
            let want = build(&cache, &cfg);
            assert_eq!(got.status, want.status, "{name}: {what}: statuses");
            if let (Some((ns, proxy, reason)), "default") = (expected_error(what), name) {
                let st = want.status.get(ns, proxy).expect("status");
                let reasons: Vec<&str> = st.errors.iter().map(|e| e.reason.as_str()).collect();
                assert!(reasons.contains(&reason), "{what}: {reasons:?}");
            }
            assert_eq!(got.dag, want.dag, "{name}: {what}: DAG");
        }
        // Switching configuration on the same builder.
        let other = BuildConfig::default();
        assert_eq!(
            inc.build(&cache, &other),
            build(&cache, &other),
            "{name}: switch"
        );
    }
}

#[test]
fn a_route_change_recomputes_only_its_root() {
    let files = cluster(Shape {
        proxies: 200,
        unrelated_secrets: 0,
    });
    let (mut cache, _) = load(objects(&files).unwrap());
    let cfg = BuildConfig::default();
    let mut inc = IncrementalBuild::new();
    let first = inc.build(&cache, &cfg);
    let roots = inc.last_reuse().computed;
    assert_eq!(roots, 180, "every root computed once");
    let r3 = format!("  routes:\n{}", route("/", "svc-2"));
    run(
        &apply(root("bench-0", "proxy-3", "host-3.bench.local", &r3)),
        &mut cache,
    );
    let second = inc.build(&cache, &cfg);
    assert_eq!(second, build(&cache, &cfg));
    let reuse = inc.last_reuse();
    assert_eq!((reuse.computed, reuse.reused), (1, roots - 1));
    // Every other host is the very same allocation.
    let hosts =
        |o: &contour_dag::BuildOutput| o.dag.listeners["ingress_http"].virtual_hosts.clone();
    let shared = hosts(&first)
        .iter()
        .zip(hosts(&second).iter())
        .filter(|(a, b)| std::sync::Arc::ptr_eq(a, b))
        .count();
    assert_eq!(shared, hosts(&first).len() - 1);
}
