//! `contour validate DIR` as a user runs it: the binary, its output and its exit codes.

use std::path::Path;
use std::process::{Command, Output};

fn contour_validate(dir: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_contour"))
        .arg("validate")
        .arg(dir)
        .args(extra)
        .output()
        .expect("run contour validate")
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: app, namespace: default}\nspec:\n  ports: [{port: 80, name: http}]\n";

fn root(name: &str, fqdn: &str, extra: &str) -> String {
    format!(
        "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  virtualhost: {{fqdn: {fqdn}}}\n  routes:\n  - services: [{{name: app, port: 80}}]\n{extra}"
    )
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn valid_directory_exits_0_with_a_table() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "svc.yaml", SERVICE);
    write(dir.path(), "root.yaml", &root("web", "web.example.com", ""));
    let out = contour_validate(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "KIND       NAMESPACE  NAME  FQDN             STATUS  DESCRIPTION"
    );
    assert_eq!(
        lines[1],
        "HTTPProxy  default    web   web.example.com  valid   Valid HTTPProxy"
    );
    assert_eq!(lines.last(), Some(&"1 valid, 0 invalid, 0 orphaned"));
}

#[test]
fn invalid_or_orphaned_exits_1_with_upstream_reasons() {
    // Both IP lists on one route, and a proxy no root includes.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "svc.yaml", SERVICE);
    write(
        dir.path(),
        "root.yaml",
        &root(
            "web",
            "web.example.com",
            "    ipAllowPolicy: [{source: Peer, cidr: 10.0.0.0/8}]\n    ipDenyPolicy: [{source: Peer, cidr: 10.1.0.0/16}]\n",
        ),
    );
    write(
        dir.path(),
        "child.yaml",
        "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: lost, namespace: default}\nspec:\n  routes: [{services: [{name: app, port: 80}]}]\n",
    );
    let out = contour_validate(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("HTTPProxy default/web:\n  error IPFilterError/IncompatibleIPAddressFilters: cannot specify both `ipAllowPolicy` and `ipDenyPolicy`"), "{text}");
    let lost = text.lines().find(|l| l.contains(" lost ")).unwrap();
    assert!(lost.contains("orphaned"), "{text}");

    let json = contour_validate(dir.path(), &["-o", "json"]);
    assert_eq!(json.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON output");
    assert_eq!(v["valid"], false);
    let web = &v["objects"][1];
    assert_eq!(web["name"], "web");
    assert_eq!(web["status"]["currentStatus"], "invalid");
    assert_eq!(
        web["status"]["conditions"][0]["errors"][0]["reason"],
        "IncompatibleIPAddressFilters"
    );
}

#[test]
fn unreadable_input_exits_2() {
    let missing = contour_validate(Path::new("/nonexistent/manifests"), &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot be opened"));

    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "svc.yaml", SERVICE);
    write(dir.path(), "root.yaml", &root("web", "web.example.com", ""));
    write(
        dir.path(),
        "broken.yaml",
        "apiVersion: v1\nkind: Service\nmetadata: [oops\n",
    );
    let out = contour_validate(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    assert!(
        text.contains("Unreadable input:\n  broken.yaml document 1 line"),
        "{text}"
    );
    assert!(
        text.contains("web.example.com  valid"),
        "what could be read is still reported: {text}"
    );
}
