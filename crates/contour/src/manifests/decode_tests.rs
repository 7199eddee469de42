use std::path::Path;

use contour_dag::{Kind, ObjectKey};

use super::*;

fn key(kind: Kind, namespace: &str, name: &str) -> ObjectKey {
    ObjectKey {
        kind,
        namespace: namespace.into(),
        name: name.into(),
    }
}

fn keys(parsed: &ParsedFile) -> Vec<ObjectKey> {
    parsed.objects.iter().map(Object::key).collect()
}

const MULTI: &str = "\
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: team, namespace: ignored}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: not-read}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: a, namespace: team}
- apiVersion: v1
  kind: Secret
  metadata: {name: b, namespace: team}
";

#[test]
fn multi_document_list_defaults_and_ignored_kinds() {
    let parsed = parse_file(Path::new("/m/a.yaml"), MULTI.as_bytes());
    assert_eq!(
        keys(&parsed),
        vec![
            key(Kind::Service, "default", "web"),
            key(Kind::Namespace, "", "team"),
            key(Kind::Service, "team", "a"),
            key(Kind::Secret, "team", "b"),
        ]
    );
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    assert!(!parsed.unreadable);
    // The defaulted namespace is part of the object, not only of its key.
    assert_eq!(
        parsed.objects[0].meta().namespace.as_deref(),
        Some("default")
    );
}

#[test]
fn typed_list_items_take_the_list_kind() {
    let text =
        r#"{"apiVersion": "v1", "kind": "ServiceList", "items": [{"metadata": {"name": "s"}}]}"#;
    let parsed = parse_file(Path::new("/m/list.json"), text.as_bytes());
    assert_eq!(keys(&parsed), vec![key(Kind::Service, "default", "s")]);
}

#[test]
fn missing_name_is_a_problem_with_document_and_line() {
    let text = "apiVersion: v1\nkind: Service\nmetadata: {name: ok}\n---\n# comment\napiVersion: v1\nkind: Service\nmetadata: {}\n";
    let parsed = parse_file(Path::new("/m/a.yaml"), text.as_bytes());
    assert_eq!(keys(&parsed), vec![key(Kind::Service, "default", "ok")]);
    assert_eq!(parsed.problems.len(), 1);
    let problem = &parsed.problems[0];
    assert_eq!((problem.document, problem.line, problem.item), (2, 6, None));
    assert!(
        problem.reason.contains("metadata.name"),
        "{}",
        problem.reason
    );
    // The broken document cannot be matched to an object: the file counts as unreadable.
    assert!(parsed.unreadable);
}

#[test]
fn syntax_error_keeps_other_documents() {
    let text = "apiVersion: v1\nkind: Service\nmetadata: {name: one}\n---\nkind: [\n---\napiVersion: v1\nkind: Service\nmetadata: {name: two}\n";
    let parsed = parse_file(Path::new("/m/a.yaml"), text.as_bytes());
    assert_eq!(
        keys(&parsed),
        vec![
            key(Kind::Service, "default", "one"),
            key(Kind::Service, "default", "two")
        ]
    );
    assert_eq!(parsed.problems.len(), 1);
    assert_eq!(parsed.problems[0].document, 2);
    assert!(parsed.problems[0].line >= 5, "{:?}", parsed.problems[0]);
    assert!(parsed.unreadable);
}

#[test]
fn decode_error_rejects_the_identified_object() {
    let text =
        "apiVersion: v1\nkind: Service\nmetadata: {name: bad, namespace: x}\nspec: {ports: 80}\n";
    let parsed = parse_file(Path::new("/m/a.yaml"), text.as_bytes());
    assert!(parsed.objects.is_empty());
    let bad = key(Kind::Service, "x", "bad");
    assert!(parsed.rejected.contains(&bad));
    assert!(!parsed.unreadable);
    assert_eq!(parsed.problems[0].key.as_ref(), Some(&bad));
}

#[test]
fn byte_order_mark_is_accepted() {
    let text = "\u{feff}{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"n\"}}";
    let parsed = parse_file(Path::new("/m/a.json"), text.as_bytes());
    assert_eq!(keys(&parsed), vec![key(Kind::Namespace, "", "n")]);
}

#[test]
fn not_utf8_is_unreadable() {
    let parsed = parse_file(Path::new("/m/a.yaml"), b"kind: \xff\n");
    assert!(parsed.unreadable);
    assert_eq!(parsed.problems.len(), 1);
}

#[test]
fn manifest_extensions() {
    for ok in ["a.yaml", "b.YML", "c.json"] {
        assert!(is_manifest_path(Path::new(ok)), "{ok}");
    }
    for no in ["a.yaml~", "b.txt", "yaml", "c.yaml.swp"] {
        assert!(!is_manifest_path(Path::new(no)), "{no}");
    }
}

#[test]
fn fields_nothing_reads_are_dropped_before_decoding() {
    let yaml = "\
apiVersion: v1
kind: Service
metadata:
  name: web
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{\"big\": \"copy\"}'
    projectcontour.io/upstream-protocol.h2c: http
  managedFields: [{manager: kubectl, operation: Apply}]
spec: {ports: [{port: 80}]}
status: {loadBalancer: {ingress: [{ip: 10.0.0.1}]}}
";
    let parsed = parse_file(Path::new("s.yaml"), yaml.as_bytes());
    let Object::Service(svc) = &parsed.objects[0] else {
        panic!("{:?}", parsed.objects)
    };
    assert_eq!(svc.status, None);
    assert_eq!(svc.metadata.managed_fields, None);
    let annotations: Vec<&str> = svc
        .metadata
        .annotations
        .iter()
        .flatten()
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(annotations, ["projectcontour.io/upstream-protocol.h2c"]);
}
