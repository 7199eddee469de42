use std::path::Path;

use contour_dag::{Kind, Object, ObjectKey};
use serde_json::json;

use super::*;

fn service(name: &str, port: u16) -> Object {
    let value = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"ports": [{"port": port}]},
    });
    Object::from_json(Kind::Service, value).unwrap()
}

fn key(name: &str) -> ObjectKey {
    ObjectKey {
        kind: Kind::Service,
        namespace: "default".into(),
        name: name.into(),
    }
}

fn file(objects: Vec<Object>) -> ParsedFile {
    ParsedFile {
        objects,
        ..ParsedFile::default()
    }
}

const A: &str = "/m/a.yaml";
const B: &str = "/m/b.yaml";

#[test]
fn new_changed_unchanged_and_removed_objects() {
    let mut store = Store::default();
    store.apply_file(Path::new(A), file(vec![service("x", 80), service("y", 80)]));
    assert_eq!(
        store.flush(),
        vec![
            SourceEvent::Upsert(service("x", 80)),
            SourceEvent::Upsert(service("y", 80))
        ]
    );
    store.apply_file(Path::new(A), file(vec![service("x", 80), service("y", 80)]));
    assert_eq!(store.flush(), vec![]);
    store.apply_file(Path::new(A), file(vec![service("y", 81)]));
    assert_eq!(
        store.flush(),
        vec![
            SourceEvent::Delete(key("x")),
            SourceEvent::Upsert(service("y", 81))
        ]
    );
    store.remove_file(Path::new(A));
    assert_eq!(store.flush(), vec![SourceEvent::Delete(key("y"))]);
    assert_eq!(store.files().count(), 0);
}

#[test]
fn rejected_object_keeps_its_last_good_version() {
    let mut store = Store::default();
    store.apply_file(Path::new(A), file(vec![service("x", 80), service("y", 80)]));
    store.flush();
    let mut parsed = file(vec![]);
    parsed.rejected.insert(key("x"));
    store.apply_file(Path::new(A), parsed);
    // x stays as it was; y is really gone.
    assert_eq!(store.flush(), vec![SourceEvent::Delete(key("y"))]);
    store.remove_file(Path::new(A));
    assert_eq!(store.flush(), vec![SourceEvent::Delete(key("x"))]);
}

#[test]
fn unreadable_file_deletes_nothing() {
    let mut store = Store::default();
    store.apply_file(Path::new(A), file(vec![service("x", 80), service("y", 80)]));
    store.flush();
    let parsed = ParsedFile {
        objects: vec![service("y", 81)],
        unreadable: true,
        ..ParsedFile::default()
    };
    store.apply_file(Path::new(A), parsed);
    assert_eq!(store.flush(), vec![SourceEvent::Upsert(service("y", 81))]);
}

#[test]
fn duplicate_definition_latest_wins_and_falls_back() {
    let mut store = Store::default();
    store.apply_file(Path::new(A), file(vec![service("x", 80)]));
    store.apply_file(Path::new(B), file(vec![service("x", 90)]));
    assert_eq!(store.flush(), vec![SourceEvent::Upsert(service("x", 90))]);
    // Re-reading A unchanged does not take x back.
    store.apply_file(Path::new(A), file(vec![service("x", 80)]));
    assert_eq!(store.flush(), vec![]);
    // Changing A's definition makes it the latest.
    store.apply_file(Path::new(A), file(vec![service("x", 81)]));
    assert_eq!(store.flush(), vec![SourceEvent::Upsert(service("x", 81))]);
    // Deleting A falls back to B instead of deleting. The store holds no object between
    // flushes: B's definition, read in an earlier batch, must be read again to be sent.
    store.remove_file(Path::new(A));
    assert_eq!(
        store.unread_served_files().into_iter().collect::<Vec<_>>(),
        vec![Path::new(B).to_path_buf()]
    );
    store.apply_file(Path::new(B), file(vec![service("x", 90)]));
    assert!(store.unread_served_files().is_empty());
    assert_eq!(store.flush(), vec![SourceEvent::Upsert(service("x", 90))]);
    store.remove_file(Path::new(B));
    assert_eq!(store.flush(), vec![SourceEvent::Delete(key("x"))]);
}

#[test]
fn rename_in_one_batch_sends_nothing() {
    let mut store = Store::default();
    store.apply_file(Path::new("/m/d/a.yaml"), file(vec![service("x", 80)]));
    store.flush();
    assert_eq!(
        store.remove_under(Path::new("/m/d")),
        vec![Path::new("/m/d/a.yaml")]
    );
    store.apply_file(Path::new("/m/e/a.yaml"), file(vec![service("x", 80)]));
    assert_eq!(store.flush(), vec![]);
    assert!(store.contains_file(Path::new("/m/e/a.yaml")));
    assert!(!store.contains_file(Path::new("/m/d/a.yaml")));
}

#[test]
fn remove_under_is_per_component() {
    let mut store = Store::default();
    store.apply_file(Path::new("/m/d/a.yaml"), file(vec![service("x", 80)]));
    store.apply_file(Path::new("/m/dd/a.yaml"), file(vec![service("y", 80)]));
    store.flush();
    store.remove_under(Path::new("/m/d"));
    assert_eq!(store.flush(), vec![SourceEvent::Delete(key("x"))]);
}

#[test]
fn holds_no_object_after_a_flush() {
    let mut store = Store::default();
    store.apply_file(Path::new(A), file(vec![service("x", 80), service("y", 80)]));
    assert_eq!(store.fresh.len(), 2);
    store.flush();
    assert!(store.fresh.is_empty());
    // An unchanged re-read sends nothing and keeps nothing.
    store.apply_file(Path::new(A), file(vec![service("x", 80), service("y", 80)]));
    assert_eq!(store.flush(), vec![]);
    assert!(store.fresh.is_empty());
}

#[test]
fn digest_tells_versions_apart() {
    assert_eq!(digest(&service("x", 80)), digest(&service("x", 80)));
    assert_ne!(digest(&service("x", 80)), digest(&service("x", 81)));
    assert_ne!(digest(&service("x", 80)), digest(&service("y", 80)));
}
