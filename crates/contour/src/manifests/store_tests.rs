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

#[test]
fn per_object_entries_stay_small() {
    // What the store keeps per object: one owners entry (key and owners), and the key again in
    // its file's list, sharing the key's one allocation. Before: an `ObjectKey` (56 bytes, two
    // allocations) in both, and a `Vec` of paths (24 bytes, and a path allocated per object).
    assert!(size_of::<Key>() <= 24, "{}", size_of::<Key>());
    assert!(size_of::<(Key, Owners)>() <= 48);
}

#[test]
fn each_key_is_allocated_once() {
    let mut store = Store::default();
    store.apply_file(Path::new(A), file(vec![service("x", 80), service("y", 80)]));
    store.apply_file(Path::new(B), file(vec![service("x", 90)]));
    store.flush();
    let mut refs: Vec<(String, usize)> = store
        .owners
        .keys()
        .map(|k| (k.name().to_string(), Arc::strong_count(&k.text)))
        .collect();
    refs.sort();
    // The owners entry and the list of every file defining it.
    assert_eq!(refs, [("x".to_string(), 3), ("y".to_string(), 2)]);
    store.remove_file(Path::new(B));
    store.flush();
    let x = store.owners.keys().find(|k| k.name() == "x").unwrap();
    assert_eq!((x.name(), Arc::strong_count(&x.text)), ("x", 2));
    assert_eq!(store.paths.len(), 1);
}

#[test]
fn keys_order_as_object_keys() {
    // Events come sorted by key: a namespace that is a prefix of another sorts first.
    let keys = [("a", "zz"), ("ab", "c"), ("b", "")].map(|(namespace, name)| ObjectKey {
        kind: Kind::Secret,
        namespace: namespace.into(),
        name: name.into(),
    });
    let mut store_keys: Vec<Key> = keys.iter().rev().map(Key::new).collect();
    store_keys.sort();
    let back: Vec<ObjectKey> = store_keys.iter().map(Key::object_key).collect();
    assert_eq!(back, keys);
    assert_ne!(
        Key::new(&keys[0]),
        Key::new(&ObjectKey {
            kind: Kind::Secret,
            namespace: "az".into(),
            name: "z".into()
        })
    );
    assert_eq!(Key::new(&keys[1]).to_string(), "Secret ab/c");
}
