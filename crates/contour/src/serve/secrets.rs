//! Certificate material is kept only for Secrets that something references (Kubernetes mode).
//!
//! A Secret nobody references is cached as a stub: name, namespace and type, no data. When an
//! Ingress, HTTPProxy or ExtensionService (or a change to one) starts referencing a stubbed
//! Secret, its data is read again through the API ([`contour_k8s::source::fetch`]); builds wait
//! for the answer (at most [`FETCH_WAIT`]) so a proxy is never built, and its status never
//! written, from a stub. When the last reference goes away the data is dropped again.
//!
//! The Kubernetes source lists Secrets only after Ingresses, HTTPProxies and ExtensionServices,
//! so at startup the references are known when Secrets arrive and nothing needs to be read
//! twice.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use contour_dag::references;
use contour_dag::{Cache, ObjectKey};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use tokio::sync::mpsc;
use tracing::debug;

/// `(namespace, name)` of a Secret.
pub type SecretKey = (String, String);

/// How long builds wait for a newly referenced Secret before going ahead without it (the read
/// keeps being retried; its answer triggers another build).
pub const FETCH_WAIT: Duration = Duration::from_secs(5);

/// Decides which Secrets keep their data, and asks for the data of Secrets that become
/// referenced.
pub struct Withholding {
    requests: mpsc::UnboundedSender<SecretKey>,
    /// Stubs in the cache: Secrets whose data was dropped.
    withheld: BTreeSet<SecretKey>,
    /// Reads asked for and not answered yet, with when they were asked.
    pending: BTreeMap<SecretKey, Instant>,
}

fn key_of(s: &Secret) -> SecretKey {
    (
        s.metadata.namespace.clone().unwrap_or_default(),
        s.metadata.name.clone().unwrap_or_default(),
    )
}

/// A Secret without its data: what the cache holds for an unreferenced Secret.
fn stub(s: &Secret) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: s.metadata.name.clone(),
            namespace: s.metadata.namespace.clone(),
            ..Default::default()
        },
        type_: s.type_.clone(),
        ..Default::default()
    }
}

impl Withholding {
    pub fn new(requests: mpsc::UnboundedSender<SecretKey>) -> Self {
        Withholding {
            requests,
            withheld: BTreeSet::new(),
            pending: BTreeMap::new(),
        }
    }

    /// Secrets currently held without data.
    #[cfg(test)]
    pub fn withheld(&self) -> &BTreeSet<SecretKey> {
        &self.withheld
    }

    /// A Secret from the watch: what to insert into the cache.
    pub fn on_secret(&mut self, cache: &Cache, secret: Secret) -> Secret {
        let key = key_of(&secret);
        if cache.secret_referenced(&key) {
            // Fresher than any read in flight.
            self.pending.remove(&key);
            self.withheld.remove(&key);
            secret
        } else {
            self.withheld.insert(key);
            stub(&secret)
        }
    }

    /// A Secret was deleted.
    pub fn on_secret_deleted(&mut self, key: &SecretKey) {
        self.withheld.remove(key);
        self.pending.remove(key);
    }

    /// The Secrets an object in the cache references now (call before changing it).
    pub fn refs_in_cache(cache: &Cache, key: &ObjectKey) -> Vec<SecretKey> {
        let k = (key.namespace.clone(), key.name.clone());
        match key.kind {
            contour_dag::Kind::Ingress => cache
                .ingresses
                .get(&k)
                .map(|i| references::ingress_secrets(i))
                .unwrap_or_default(),
            contour_dag::Kind::HTTPProxy => cache
                .proxies
                .get(&k)
                .map(|p| {
                    let ns = p.metadata.namespace.as_deref().unwrap_or_default();
                    references::proxy_spec_secrets(ns, &p.spec)
                })
                .unwrap_or_default(),
            contour_dag::Kind::ExtensionService => cache
                .extension_services
                .get(&k)
                .map(|e| references::extension_secrets(e))
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// After references changed (`touched`: Secrets referenced before or after): asks for the
    /// data of stubs that are referenced now, and drops the data of Secrets no longer referenced.
    pub fn after_change(&mut self, cache: &mut Cache, touched: Vec<SecretKey>, now: Instant) {
        for key in touched {
            let referenced = cache.secret_referenced(&key);
            if referenced && self.withheld.contains(&key) && !self.pending.contains_key(&key) {
                debug!(namespace = %key.0, name = %key.1, "Secret now referenced: reading its data");
                if self.requests.send(key.clone()).is_ok() {
                    self.pending.insert(key, now);
                }
            } else if !referenced && !self.withheld.contains(&key) {
                if cache.withhold_secret_data(&key) {
                    self.withheld.insert(key.clone());
                }
                self.pending.remove(&key);
            }
        }
    }

    /// The answer to a read: the Secret to insert, if it is still wanted.
    pub fn on_fetched(
        &mut self,
        cache: &Cache,
        key: SecretKey,
        secret: Option<Secret>,
    ) -> Option<Secret> {
        // Not pending: superseded by a watch event, deleted, or no longer referenced.
        self.pending.remove(&key)?;
        let secret = secret?;
        if !cache.secret_referenced(&key) {
            return None;
        }
        self.withheld.remove(&key);
        Some(secret)
    }

    /// Builds wait until this instant: reads asked for less than [`FETCH_WAIT`] ago.
    pub fn hold_until(&self) -> Option<Instant> {
        self.pending.values().min().map(|asked| *asked + FETCH_WAIT)
    }
}

#[cfg(test)]
#[path = "secrets_tests.rs"]
mod tests;
