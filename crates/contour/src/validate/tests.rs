use std::path::Path;

use contour_dag::{BuildConfig, ClassFilter};

use super::*;
use crate::manifests::oneshot::read_dir_once;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: app, namespace: default}\nspec:\n  ports: [{port: 80, name: http}]\n";

fn report(dir: &Path, classes: &[&str]) -> Report {
    let contents = read_dir_once(dir).unwrap();
    let classes = ClassFilter::new(classes.iter().map(|c| c.to_string()));
    evaluate(contents, &BuildConfig::default(), classes)
}

/// `(kind, name, currentStatus)` of every row.
fn summary(r: &Report) -> Vec<(&str, &str, &str)> {
    r.rows
        .iter()
        .map(|r| (r.kind, r.name.as_str(), r.current_status.as_str()))
        .collect()
}

#[test]
fn statuses_exit_codes_and_ingress_warnings() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "svc.yaml", SERVICE);
    write(
        dir.path(),
        "proxies.yaml",
        "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: ok}\nspec:\n  virtualhost: {fqdn: ok.example.com}\n  routes: [{services: [{name: app, port: 80}]}]\n---\napiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: lonely}\nspec:\n  routes: [{services: [{name: app, port: 80}]}]\n",
    );
    write(
        dir.path(),
        "ingress.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web}\nspec:\n  rules:\n  - host: web.example.com\n    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: missing, port: {number: 80}}}}]}\n",
    );
    let r = report(dir.path(), &[]);
    assert_eq!(
        summary(&r),
        [
            ("HTTPProxy", "lonely", "orphaned"),
            ("HTTPProxy", "ok", "valid"),
            ("Ingress", "web", "invalid"),
        ]
    );
    assert!(
        r.rows[2]
            .description
            .contains("unresolved service reference"),
        "{:?}",
        r.rows[2]
    );
    assert_eq!(r.exit_code(), 1);
    let table = render::table(&r);
    assert!(
        table.starts_with("KIND       NAMESPACE  NAME    FQDN             STATUS    DESCRIPTION\n"),
        "{table}"
    );
    assert!(table.contains("HTTPProxy default/lonely:\n  error Orphaned/Orphaned: this HTTPProxy is not part of a delegation chain from a root HTTPProxy"), "{table}");
    assert!(
        table.ends_with("1 valid, 1 invalid, 1 orphaned\n"),
        "{table}"
    );
}

#[test]
fn other_classes_are_ignored_and_malformed_files_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "svc.yaml", SERVICE);
    write(
        dir.path(),
        "other.yaml",
        "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: theirs}\nspec:\n  ingressClassName: other\n  virtualhost: {fqdn: x.example.com}\n  routes: [{services: [{name: app, port: 80}]}]\n",
    );
    let r = report(dir.path(), &[]);
    assert_eq!(r.rows[0].current_status, "ignored");
    assert_eq!(r.exit_code(), 0);

    write(dir.path(), "broken.yaml", "kind: [unclosed\n");
    let r = report(dir.path(), &[]);
    assert_eq!(r.exit_code(), 2);
    assert_eq!(r.problems[0].file, Path::new("broken.yaml"));
    let json: serde_json::Value = serde_json::from_str(&render::json(&r)).unwrap();
    assert_eq!(json["exitCode"], 2);
    assert_eq!(json["problems"][0]["file"], "broken.yaml");
}

#[test]
fn extension_services_are_reported_with_their_valid_condition() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "auth.yaml",
        "apiVersion: v1\nkind: Service\nmetadata: {name: auth, namespace: default}\nspec:\n  ports: [{port: 9000, name: grpc}]\n---\n\
         apiVersion: projectcontour.io/v1alpha1\nkind: ExtensionService\nmetadata: {name: auth}\nspec:\n  protocol: h2c\n  services: [{name: auth, port: 9000}]\n---\n\
         apiVersion: projectcontour.io/v1alpha1\nkind: ExtensionService\nmetadata: {name: broken}\nspec:\n  services: [{name: missing, port: 9000}]\n",
    );
    let r = report(dir.path(), &[]);
    assert_eq!(
        summary(&r),
        [
            ("ExtensionService", "auth", "valid"),
            ("ExtensionService", "broken", "invalid"),
        ]
    );
    assert_eq!(r.rows[0].description, "Valid ExtensionService");
    assert_eq!(r.rows[0].status["conditions"][0]["reason"], "Valid");
    assert_eq!(
        r.rows[1].errors,
        [(
            "ServiceError".to_string(),
            "ServiceUnresolvedReference".to_string(),
            "unresolved service \"default/missing\": service \"default/missing\" not found"
                .to_string()
        )]
    );
    assert_eq!(r.exit_code(), 1);
}
