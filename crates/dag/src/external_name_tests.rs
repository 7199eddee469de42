//! Refused ExternalName Services (disabled, or pointing at Envoy itself) are refused where
//! upstream refuses them: an Ingress route is dropped, an HTTPProxy service or TCP proxy
//! service is `ServiceUnresolvedReference` with upstream's message.

use crate::builder::{BuildConfig, BuildOutput, build};
use crate::model::{HTTP_LISTENER_NAME, RouteAction};
use crate::testutil::{cache_with, obj, service};

fn external(name: &str, target: &str) -> crate::Object {
    obj(&format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  type: ExternalName\n  externalName: '{target}'\n  ports:\n  - {{name: http, port: 80, protocol: TCP}}\n"
    ))
}

fn build_with(target: &str, enabled: bool, doc: &str) -> BuildOutput {
    let cfg = BuildConfig {
        enable_external_name_service: enabled,
        ..BuildConfig::default()
    };
    let cache = cache_with([
        service("default", "app", 80, "http"),
        external("ext", target),
        obj(doc),
    ]);
    build(&cache, &cfg)
}

const INGRESS: &str = "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, namespace: default}\nspec:\n  rules:\n  - host: i.example.com\n    http:\n      paths:\n      - {path: /ok, pathType: Prefix, backend: {service: {name: app, port: {number: 80}}}}\n      - {path: /ext, pathType: Prefix, backend: {service: {name: ext, port: {number: 80}}}}\n";

/// The paths of the routes of `i.example.com` on the HTTP listener.
fn ingress_paths(out: &BuildOutput) -> Vec<String> {
    let l = &out.dag.listeners[HTTP_LISTENER_NAME];
    let vh = l.virtual_hosts.iter().find(|v| v.fqdn == "i.example.com");
    vh.into_iter()
        .flat_map(|v| v.routes.values())
        .map(|r| r.path.value().to_string())
        .collect()
}

#[test]
fn ingress_route_to_a_refused_external_name_is_dropped() {
    let disabled = build_with("example.com", false, INGRESS);
    assert_eq!(ingress_paths(&disabled), ["/ok"]);
    let localhost = build_with("localhost.", true, INGRESS);
    assert_eq!(ingress_paths(&localhost), ["/ok"]);
    let loopback = build_with("127.0.0.1", true, INGRESS);
    assert_eq!(ingress_paths(&loopback), ["/ok"]);
    let allowed = build_with("example.com", true, INGRESS);
    assert_eq!(ingress_paths(&allowed), ["/ext", "/ok"]);
}

const PROXY: &str = "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: p, namespace: default}\nspec:\n  virtualhost: {fqdn: p.example.com}\n  routes:\n  - services: [{name: ext, port: 80}]\n";

/// `(type, reason, message)` of the first error of `default/p`.
fn first_error(out: &BuildOutput) -> (String, String, String) {
    let st = out.status.get("default", "p").expect("status");
    let e = &st.errors[0];
    (e.type_.clone(), e.reason.clone(), e.message.clone())
}

#[test]
fn httpproxy_service_refused_as_unresolved_reference() {
    let disabled = build_with("example.com", false, PROXY);
    assert_eq!(
        first_error(&disabled),
        (
            "ServiceError".into(),
            "ServiceUnresolvedReference".into(),
            "Spec.Routes unresolved service reference: default/ext is an ExternalName service, these are not currently enabled. See the config.enableExternalNameService config file setting".into()
        )
    );
    // The route stays, answering 503 like any route without a valid service.
    let l = &disabled.dag.listeners[HTTP_LISTENER_NAME];
    let route = l.virtual_hosts[0].routes.values().next().unwrap();
    assert_eq!(
        route.action,
        RouteAction::DirectResponse {
            status: 503,
            body: None
        }
    );
    let localhost = build_with("localhost", true, PROXY);
    assert_eq!(
        first_error(&localhost).2,
        "Spec.Routes unresolved service reference: default/ext is an ExternalName service that points to localhost, this is not allowed"
    );
    let link_local = build_with("169.254.169.254", true, PROXY);
    assert_eq!(
        first_error(&link_local).2,
        "Spec.Routes unresolved service reference: default/ext is an ExternalName service that points to a loopback, link-local or unspecified IP address, this is not allowed"
    );
    assert!(
        build_with("example.com", true, PROXY)
            .status
            .get("default", "p")
            .unwrap()
            .is_valid()
    );
}

#[test]
fn tcp_proxy_service_refused_as_unresolved_reference() {
    let tcp = "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: p, namespace: default}\nspec:\n  virtualhost: {fqdn: t.example.com, tls: {passthrough: true}}\n  tcpproxy:\n    services: [{name: ext, port: 80}]\n";
    let out = build_with("localhost", true, tcp);
    assert_eq!(
        first_error(&out),
        (
            "TCPProxyError".into(),
            "ServiceUnresolvedReference".into(),
            "Spec.TCPProxy unresolved service reference: default/ext is an ExternalName service that points to localhost, this is not allowed".into()
        )
    );
    assert!(out.dag.clusters().is_empty());
}
