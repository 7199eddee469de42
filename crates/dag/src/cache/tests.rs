use super::*;
use crate::testutil::{obj, service};

const INGRESS: &str = r#"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: default}
spec:
  rules:
  - host: web.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
"#;

#[test]
fn unreferenced_service_needs_no_rebuild() {
    let mut cache = Cache::default();
    assert!(!cache.insert(service("default", "web", 80, "http")));
    assert!(cache.insert(obj(INGRESS)));
    // Now referenced: a change matters, an identical re-insert does not.
    assert!(!cache.insert(service("default", "web", 80, "http")));
    assert!(cache.insert(service("default", "web", 81, "http")));
    assert!(!cache.insert(service("other", "web", 80, "http")));
    let key = ObjectKey {
        kind: Kind::Service,
        namespace: "default".into(),
        name: "web".into(),
    };
    assert!(cache.remove(&key));
}

#[test]
fn unreferenced_secret_needs_no_rebuild() {
    let mut cache = Cache::default();
    let secret = obj(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: default}\ntype: Opaque\n",
    );
    assert!(!cache.insert(secret));
}

#[test]
fn ingress_class_filtering() {
    let mut cache = Cache::default();
    let other = INGRESS.replace("metadata: {name: web, namespace: default}",
        "metadata: {name: web, namespace: default, annotations: {kubernetes.io/ingress.class: nginx}}");
    assert!(!cache.insert(obj(&other)));
    assert!(cache.ingresses.is_empty());
    let mut cache = Cache::new(ClassFilter::new(["nginx".to_string()]));
    assert!(cache.insert(obj(&other)));
    // The same Ingress losing its class is removed.
    assert!(cache.insert(obj(INGRESS)));
    assert!(cache.ingresses.is_empty());
}

#[test]
fn annotation_beats_class_name_field() {
    let y = INGRESS.replace("spec:\n", "spec:\n  ingressClassName: nginx\n").replace(
        "metadata: {name: web, namespace: default}",
        "metadata: {name: web, namespace: default, annotations: {projectcontour.io/ingress.class: contour}}",
    );
    let mut cache = Cache::default();
    assert!(cache.insert(obj(&y)));
}

#[test]
fn endpoint_slices_never_rebuild() {
    let mut cache = Cache::default();
    let slice = obj(
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\naddressType: IPv4\nendpoints: []\n",
    );
    assert!(!cache.insert(slice));
}

const PROXY_WITH_TLS: &str = r#"
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: {name: p, namespace: default}
spec:
  virtualhost: {fqdn: a.example.com, tls: {secretName: other/cert}}
  routes:
  - services: [{name: web, port: 80}]
"#;

fn secret(ns: &str, name: &str, data: &str) -> Object {
    obj(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: {ns}}}\ntype: kubernetes.io/tls\ndata: {data}\n"
    ))
}

#[test]
fn secret_and_service_references_follow_proxy_updates_and_removal() {
    let mut cache = Cache::default();
    assert!(cache.insert(obj(PROXY_WITH_TLS)));
    // The proxy names other/cert and default/web: their changes matter.
    assert!(cache.insert(secret("other", "cert", "{tls.crt: YQ==}")));
    assert!(cache.insert(service("default", "web", 80, "http")));
    assert!(!cache.insert(secret("default", "cert", "{tls.crt: YQ==}")));
    // The proxy drops its TLS: the Secret stops mattering, the Service still matters.
    let plain = PROXY_WITH_TLS.replace(", tls: {secretName: other/cert}", "");
    assert!(cache.insert(obj(&plain)));
    assert!(!cache.insert(secret("other", "cert", "{tls.crt: Yg==}")));
    assert!(cache.insert(service("default", "web", 81, "http")));
    // Removed: nothing it named matters any more.
    let key = ObjectKey {
        kind: Kind::HTTPProxy,
        namespace: "default".into(),
        name: "p".into(),
    };
    assert!(cache.remove(&key));
    assert!(!cache.insert(service("default", "web", 82, "http")));
}

#[test]
fn secrets_without_material_are_kept_as_their_type() {
    let mut cache = Cache::default();
    assert!(cache.insert(obj(PROXY_WITH_TLS)));
    let helm = |release: &str| {
        obj(&format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: cert, namespace: other}}\n\
             type: helm.sh/release.v1\ndata: {{release: {release}}}\n"
        ))
    };
    // Referenced: its arrival matters, a change of data it does not keep does not.
    assert!(cache.insert(helm("YQ==")));
    assert!(!cache.insert(helm("Yg==")));
    let key = ("other".to_string(), "cert".to_string());
    assert!(!cache.secrets.contains_key(&key));
    assert_eq!(
        cache.bare_secrets.get("other", "cert"),
        Some(Some("helm.sh/release.v1"))
    );
    // Becoming a real certificate Secret, and back, both matter.
    assert!(cache.insert(secret("other", "cert", "{tls.crt: YQ==}")));
    assert!(!cache.bare_secrets.contains("other", "cert"));
    assert!(cache.insert(helm("YQ==")));
    assert!(!cache.secrets.contains_key(&key));
    assert_eq!(cache.counts()["Secret"], 1);
    // Unreferenced ones never matter.
    let other = obj(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: x, namespace: n}\ntype: Opaque\ndata: {password: YQ==}\n",
    );
    assert!(!cache.insert(other));
}

#[test]
fn a_secret_gets_a_new_revision_whenever_the_build_would_see_it_change() {
    let mut cache = Cache::default();
    let read = Read::object(Kind::Secret, "n", "s");
    let typed = |ty: &str| {
        obj(&format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: s, namespace: n}}\ntype: {ty}\n"
        ))
    };
    let key = ObjectKey {
        kind: Kind::Secret,
        namespace: "n".into(),
        name: "s".into(),
    };
    assert_eq!(cache.revision(&read), 0);
    cache.insert(typed("Opaque"));
    let bare = cache.revision(&read);
    assert_ne!(bare, 0);
    // Same type, other data it does not keep: unchanged.
    cache.insert(obj(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: n}\ntype: Opaque\ndata: {password: YQ==}\n",
    ));
    assert_eq!(cache.revision(&read), bare);
    cache.insert(typed("helm.sh/release.v1"));
    let retyped = cache.revision(&read);
    assert_ne!(retyped, bare);
    // With data, then bare again, then withheld: each is a change.
    cache.insert(secret("n", "s", "{tls.crt: YQ==}"));
    let full = cache.revision(&read);
    assert!(![0, bare, retyped].contains(&full));
    cache.insert(typed("Opaque"));
    let bare_again = cache.revision(&read);
    assert!(![0, bare, retyped, full].contains(&bare_again));
    cache.insert(secret("n", "s", "{tls.crt: YQ==}"));
    let full_again = cache.revision(&read);
    assert_ne!(full_again, bare_again);
    assert!(cache.withhold_secret_data(&("n".to_string(), "s".to_string())));
    let withheld = cache.revision(&read);
    assert!(withheld > full_again);
    // Removing it leaves nothing.
    cache.remove(&key);
    assert_eq!(cache.revision(&read), 0);
}
