use std::time::Instant;

use contour_dag::{Cache, Kind, Object, ObjectKey};
use k8s_openapi::api::core::v1::Secret;
use serde_json::json;
use tokio::sync::mpsc;

use super::*;

fn secret(name: &str) -> Secret {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default",
                     "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": "cGVt", "tls.key": "a2V5"}}))
    .unwrap()
}

fn proxy(name: &str, secret: &str) -> Object {
    Object::from_json(
        Kind::HTTPProxy,
        json!({"apiVersion": "projectcontour.io/v1", "kind": "HTTPProxy",
               "metadata": {"name": name, "namespace": "default"},
               "spec": {"virtualhost": {"fqdn": "a.example.com", "tls": {"secretName": secret}},
                        "routes": [{"services": [{"name": "s", "port": 80}]}]}}),
    )
    .unwrap()
}

fn key(name: &str) -> SecretKey {
    ("default".to_string(), name.to_string())
}

struct Fixture {
    cache: Cache,
    w: Withholding,
    requests: mpsc::UnboundedReceiver<SecretKey>,
}

impl Fixture {
    fn new() -> Fixture {
        let (tx, requests) = mpsc::unbounded_channel();
        Fixture {
            cache: Cache::default(),
            w: Withholding::new(tx),
            requests,
        }
    }

    fn secret(&mut self, s: Secret) {
        let s = self.w.on_secret(&self.cache, s);
        self.cache.insert(Object::Secret(s));
    }

    fn upsert(&mut self, obj: Object) {
        let mut touched = Withholding::refs_in_cache(&self.cache, &obj.key());
        touched.extend(contour_dag::references::secret_refs(&obj));
        self.cache.insert(obj);
        self.w
            .after_change(&mut self.cache, touched, Instant::now());
    }

    /// Whether the cache holds the Secret with its data (a Secret without data is kept as its
    /// type alone, in `bare_secrets`).
    fn held_data(&self, name: &str) -> bool {
        let full = self.cache.secrets.get(&key(name));
        assert!(full.is_some() != self.cache.bare_secrets.contains("default", name));
        full.is_some_and(|s| !s.data.is_empty())
    }
}

#[test]
fn unreferenced_secret_is_cached_without_data() {
    let mut f = Fixture::new();
    f.secret(secret("lonely"));
    // Only the type is kept: no data, no annotations (no copy of the object in them).
    assert!(!f.cache.secrets.contains_key(&key("lonely")));
    assert_eq!(
        f.cache.bare_secrets.get("default", "lonely"),
        Some(Some("kubernetes.io/tls"))
    );
    assert!(f.w.withheld().contains(&key("lonely")));
    assert!(f.w.hold_until().is_none());
}

#[test]
fn referenced_secret_keeps_its_data() {
    let mut f = Fixture::new();
    f.upsert(proxy("p", "cert"));
    f.secret(secret("cert"));
    assert!(f.held_data("cert"));
    assert!(f.requests.try_recv().is_err(), "nothing to read again");
}

#[test]
fn config_file_secrets_keep_their_data() {
    let mut f = Fixture::new();
    f.cache.config_secrets.insert(key("fallback"));
    f.secret(secret("fallback"));
    assert!(f.held_data("fallback"));
}

#[test]
fn a_new_reference_reads_the_data_again_and_builds_wait_for_it() {
    let mut f = Fixture::new();
    f.secret(secret("cert"));
    f.upsert(proxy("p", "cert"));
    assert_eq!(f.requests.try_recv().unwrap(), key("cert"));
    assert!(f.w.hold_until().is_some(), "builds wait for the read");
    // A second reference while the read is in flight asks nothing more.
    f.upsert(proxy("q", "cert"));
    assert!(f.requests.try_recv().is_err());

    let got = f.w.on_fetched(&f.cache, key("cert"), Some(secret("cert")));
    f.cache.insert(Object::Secret(got.expect("still wanted")));
    assert!(f.held_data("cert"));
    assert!(f.w.hold_until().is_none());
    assert!(!f.w.withheld().contains(&key("cert")));
}

#[test]
fn the_last_reference_gone_drops_the_data() {
    let mut f = Fixture::new();
    f.upsert(proxy("p", "cert"));
    f.secret(secret("cert"));
    // The proxy switches to another Secret: the old one loses its data.
    f.upsert(proxy("p", "other"));
    assert!(!f.held_data("cert"));
    f.upsert(proxy("p", "cert"));
    assert_eq!(f.requests.try_recv().unwrap(), key("cert"));
    f.w.on_fetched(&f.cache, key("cert"), Some(secret("cert")))
        .map(|s| f.cache.insert(Object::Secret(s)));
    let gone = ObjectKey {
        kind: Kind::HTTPProxy,
        namespace: "default".into(),
        name: "p".into(),
    };
    let touched = Withholding::refs_in_cache(&f.cache, &gone);
    f.cache.remove(&gone);
    f.w.after_change(&mut f.cache, touched, Instant::now());
    assert!(!f.held_data("cert"));
}

#[test]
fn a_watch_event_supersedes_a_read_in_flight() {
    let mut f = Fixture::new();
    f.secret(secret("cert"));
    f.upsert(proxy("p", "cert"));
    assert_eq!(f.requests.try_recv().unwrap(), key("cert"));
    // The watch delivers a newer version first: the read's (older) answer is ignored.
    let mut newer = secret("cert");
    newer
        .data
        .as_mut()
        .unwrap()
        .insert("tls.crt".into(), k8s_openapi::ByteString(b"newer".to_vec()));
    f.secret(newer.clone());
    assert_eq!(
        *f.cache.secrets[&key("cert")],
        contour_dag::cache::CachedSecret::from(newer.clone())
    );
    assert!(
        f.w.on_fetched(&f.cache, key("cert"), Some(secret("cert")))
            .is_none()
    );
    assert!(f.w.hold_until().is_none());
}

#[test]
fn a_deleted_secret_answers_nothing() {
    let mut f = Fixture::new();
    f.secret(secret("cert"));
    f.upsert(proxy("p", "cert"));
    assert!(f.w.on_fetched(&f.cache, key("cert"), None).is_none());
    assert!(f.w.hold_until().is_none(), "a 404 releases the builds");
}
