//! The object cache: the single store every build reads. One task owns it.
//!
//! `insert`/`remove` answer whether the change can alter the built configuration, so that
//! unreferenced objects (an unrelated Secret, a Service nobody routes to) never trigger a build.

use std::collections::{BTreeMap, BTreeSet};

use contour_api::v1::TLSCertificateDelegation;
use contour_api::v1alpha1::ExtensionService;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::networking::v1::Ingress;

use crate::ingress_class::{self, ClassFilter};
use crate::object::{Kind, Object, ObjectKey};

mod bare;
mod proxy;
mod reads;
mod refs;
mod secret;
mod service;
mod strip;

pub use bare::BareSecrets;
pub use proxy::{CachedProxy, ProxyMeta};
pub use reads::{Read, Revisions, recording};
use refs::{Named, RefIndex};
pub use secret::{CachedSecret, EncodedSecret, SecretEncoder};
pub use service::{CachedService, ServiceMeta, ServiceSpec};
use strip::{normalize_secret, strip};

/// Objects keyed by `(namespace, name)`. Values are boxed: a B-tree node holds eleven values
/// inline, and these objects are large (a cached HTTPProxy is still ~150 bytes before any of its
/// heap data, an Ingress or ExtensionService several hundred), so inline values would cost up
/// to eleven times the object per small map and about twice per large one.
pub type ByName<T> = BTreeMap<(String, String), Box<T>>;

/// Everything a build reads. EndpointSlices are not here: they take the EDS-only path
/// ([`crate::endpoints::EndpointStore`]).
#[derive(Debug, Default, Clone)]
pub struct Cache {
    pub class_filter: ClassFilter,
    pub namespaces: BTreeMap<String, Namespace>,
    /// Only the fields the build reads ([`CachedService`]).
    pub services: ByName<CachedService>,
    /// Secrets holding certificate material (`tls.crt`, `tls.key`, `ca.crt`, `crl.pem`).
    pub secrets: ByName<CachedSecret>,
    /// Every other Secret (Helm releases, tokens, Opaque Secrets of other keys): only its type,
    /// so that a reference to one still gets the right error, for a few bytes a Secret.
    pub bare_secrets: BareSecrets,
    pub ingresses: ByName<Ingress>,
    /// Only the spec and the metadata the build reads ([`CachedProxy`]).
    pub proxies: ByName<CachedProxy>,
    pub delegations: ByName<TLSCertificateDelegation>,
    pub extension_services: ByName<ExtensionService>,
    /// Secrets the configuration file names (fallback certificate, Envoy client certificate):
    /// a change to one of them always matters.
    pub config_secrets: BTreeSet<(String, String)>,
    /// Services and Secrets named by the cached Ingresses, HTTPProxies and ExtensionServices.
    refs: RefIndex,
    /// A revision per object the build reads, for the incremental build.
    revisions: Revisions,
    /// Encodes serving certificates on the way in (see [`SecretEncoder`]); without one they
    /// are encoded by the translator.
    pub secret_encoder: Option<SecretEncoder>,
}

fn ns_name(key: &ObjectKey) -> (String, String) {
    (key.namespace.clone(), key.name.clone())
}

/// Replaces `slot`'s entry with `value`; returns whether it differed.
fn store<T: PartialEq>(map: &mut ByName<T>, key: (String, String), value: T) -> bool {
    match map.get(&key) {
        Some(old) if **old == value => false,
        _ => {
            map.insert(key, Box::new(value));
            true
        }
    }
}

impl Cache {
    pub fn new(class_filter: ClassFilter) -> Self {
        Cache {
            class_filter,
            ..Default::default()
        }
    }

    /// Inserts or replaces an object. Returns whether a rebuild is needed.
    pub fn insert(&mut self, obj: Object) -> bool {
        let key = obj.key();
        let (changed, rebuild) = self.insert_inner(obj);
        if changed {
            self.bump(key.kind, &key.namespace, &key.name);
        }
        rebuild
    }

    /// Gives an object that changed a new revision (absent: none).
    fn bump(&mut self, kind: Kind, ns: &str, name: &str) {
        let present = self.holds(kind, ns, name);
        self.revisions.changed(kind, ns, name, present);
    }

    /// Whether the cache now holds the object (as the build sees it).
    fn holds(&self, kind: Kind, ns: &str, name: &str) -> bool {
        let k = (ns.to_string(), name.to_string());
        match kind {
            Kind::Namespace => self.namespaces.contains_key(name),
            Kind::Service => self.services.contains_key(&k),
            Kind::Secret => self.secrets.contains_key(&k) || self.bare_secrets.contains(ns, name),
            Kind::Ingress => self.ingresses.contains_key(&k),
            Kind::HTTPProxy => self.proxies.contains_key(&k),
            Kind::TLSCertificateDelegation => self.delegations.contains_key(&k),
            Kind::ExtensionService => self.extension_services.contains_key(&k),
            Kind::EndpointSlice => false,
        }
    }

    /// The revision of what `read` names (0: absent), see [`Revisions`].
    pub fn revision(&self, read: &Read) -> u64 {
        self.revisions.of(read)
    }

    /// Inserts or replaces an object: whether the cached object changed, and whether a rebuild
    /// is needed.
    fn insert_inner(&mut self, obj: Object) -> (bool, bool) {
        let key = obj.key();
        let k = ns_name(&key);
        match obj {
            Object::Namespace(mut ns) => {
                strip(&mut ns.metadata);
                let changed = self.namespaces.get(&key.name) != Some(&ns);
                self.namespaces.insert(key.name, ns);
                (changed, changed)
            }
            Object::Service(mut svc) => {
                strip(&mut svc.metadata);
                let changed = store(&mut self.services, k.clone(), CachedService::from(svc));
                (changed, changed && self.service_referenced(&k))
            }
            Object::Secret(mut secret) => {
                // No metadata is kept (`CachedSecret`): nothing to strip.
                normalize_secret(&mut secret);
                let changed = if secret.data.as_ref().is_none_or(|d| d.is_empty()) {
                    // No certificate material: only the type is kept (for its error message).
                    let was_full = self.secrets.remove(&k).is_some();
                    let new_type = self.bare_secrets.insert(&k.0, &k.1, secret.type_);
                    was_full || new_type
                } else {
                    self.bare_secrets.remove(&k.0, &k.1);
                    let (ns, name) = (k.0.as_str(), k.1.as_str());
                    let cached = CachedSecret::encoded(secret, (ns, name), self.secret_encoder);
                    store(&mut self.secrets, k.clone(), cached)
                };
                let has_ca = self.secrets.get(&k).is_some_and(|s| s.has_ca());
                (changed, changed && (has_ca || self.secret_referenced(&k)))
            }
            Object::Ingress(mut ing) => {
                strip(&mut ing.metadata);
                ing.status = None;
                if !ingress_class::ingress_matches(&self.class_filter, &ing) {
                    // A class change away from us removes the object.
                    self.refs.set(Kind::Ingress, &k, None);
                    return both(self.ingresses.remove(&k).is_some());
                }
                self.refs
                    .set(Kind::Ingress, &k, Some(Named::of_ingress(&ing)));
                both(store(&mut self.ingresses, k, ing))
            }
            Object::HTTPProxy(proxy) => {
                if !ingress_class::proxy_matches(&self.class_filter, &proxy) {
                    self.refs.set(Kind::HTTPProxy, &k, None);
                    return both(self.proxies.remove(&k).is_some());
                }
                self.refs
                    .set(Kind::HTTPProxy, &k, Some(Named::of_proxy(&proxy)));
                both(store(&mut self.proxies, k, CachedProxy::from(proxy)))
            }
            Object::TLSCertificateDelegation(mut d) => {
                strip(&mut d.metadata);
                both(store(&mut self.delegations, k, d))
            }
            Object::ExtensionService(mut e) => {
                strip(&mut e.metadata);
                e.status = None;
                self.refs
                    .set(Kind::ExtensionService, &k, Some(Named::of_extension(&e)));
                both(store(&mut self.extension_services, k, e))
            }
            // EndpointSlices never go through the build.
            Object::EndpointSlice(_) => (false, false),
        }
    }

    /// Removes an object. Returns whether a rebuild is needed.
    pub fn remove(&mut self, key: &ObjectKey) -> bool {
        let held = self.holds(key.kind, &key.namespace, &key.name);
        let rebuild = self.remove_inner(key);
        if held {
            self.bump(key.kind, &key.namespace, &key.name);
        }
        rebuild
    }

    fn remove_inner(&mut self, key: &ObjectKey) -> bool {
        let k = ns_name(key);
        match key.kind {
            Kind::Namespace => self.namespaces.remove(&key.name).is_some(),
            Kind::Service => self.services.remove(&k).is_some() && self.service_referenced(&k),
            Kind::Secret => match self.secrets.remove(&k) {
                Some(old) => old.has_ca() || self.secret_referenced(&k),
                None => self.bare_secrets.remove(&k.0, &k.1) && self.secret_referenced(&k),
            },
            Kind::Ingress => {
                self.refs.set(Kind::Ingress, &k, None);
                self.ingresses.remove(&k).is_some()
            }
            Kind::HTTPProxy => {
                self.refs.set(Kind::HTTPProxy, &k, None);
                self.proxies.remove(&k).is_some()
            }
            Kind::TLSCertificateDelegation => self.delegations.remove(&k).is_some(),
            Kind::ExtensionService => {
                self.refs.set(Kind::ExtensionService, &k, None);
                self.extension_services.remove(&k).is_some()
            }
            Kind::EndpointSlice => false,
        }
    }

    /// Number of cached objects per kind (metric `contour_dag_cache_object`).
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        BTreeMap::from([
            ("Namespace", self.namespaces.len()),
            ("Service", self.services.len()),
            ("Secret", self.secrets.len() + self.bare_secrets.len()),
            ("Ingress", self.ingresses.len()),
            ("HTTPProxy", self.proxies.len()),
            ("TLSCertificateDelegation", self.delegations.len()),
            ("ExtensionService", self.extension_services.len()),
        ])
    }

    fn service_referenced(&self, key: &(String, String)) -> bool {
        self.refs.service_named(key)
    }

    /// Drops the data of a cached Secret, keeping its type (Kubernetes mode withholds the data of
    /// Secrets nothing references). Returns whether it held data.
    pub fn withhold_secret_data(&mut self, key: &(String, String)) -> bool {
        match self.secrets.remove(key) {
            Some(secret) => {
                self.bare_secrets.insert(&key.0, &key.1, secret.type_);
                self.bump(Kind::Secret, &key.0, &key.1);
                true
            }
            None => false,
        }
    }

    /// Whether an Ingress, an HTTPProxy, an ExtensionService or the configuration file names
    /// the Secret.
    pub fn secret_referenced(&self, key: &(String, String)) -> bool {
        self.config_secrets.contains(key) || self.refs.secret_named(key)
    }

    /// Ingresses in one namespace.
    pub fn ingresses_in<'a>(&'a self, ns: &'a str) -> impl Iterator<Item = &'a Ingress> + 'a {
        in_namespace(&self.ingresses, ns)
    }

    /// HTTPProxies in one namespace.
    pub fn proxies_in<'a>(&'a self, ns: &'a str) -> impl Iterator<Item = &'a CachedProxy> + 'a {
        in_namespace(&self.proxies, ns)
    }

    pub fn service(&self, ns: &str, name: &str) -> Option<&CachedService> {
        reads::note(|| Read::object(Kind::Service, ns, name));
        self.services
            .get(&(ns.to_string(), name.to_string()))
            .map(|s| &**s)
    }

    pub fn proxy(&self, ns: &str, name: &str) -> Option<&CachedProxy> {
        reads::note(|| Read::object(Kind::HTTPProxy, ns, name));
        self.proxies
            .get(&(ns.to_string(), name.to_string()))
            .map(|p| &**p)
    }
}

/// `(changed, changed)`: for kinds where every change needs a rebuild.
fn both(changed: bool) -> (bool, bool) {
    (changed, changed)
}

impl Cache {
    /// The Secret `ns/name` as the build sees it: with its certificate data, or its type alone.
    pub fn secret_entry(&self, ns: &str, name: &str) -> Option<SecretEntry<'_>> {
        reads::note(|| Read::object(Kind::Secret, ns, name));
        let key = (ns.to_string(), name.to_string());
        if let Some(s) = self.secrets.get(&key) {
            return Some(SecretEntry::Full(s));
        }
        self.bare_secrets.get(ns, name).map(SecretEntry::Bare)
    }

    /// The TLSCertificateDelegations of namespace `ns`.
    pub fn delegations_in<'a>(
        &'a self,
        ns: &'a str,
    ) -> impl Iterator<Item = &'a TLSCertificateDelegation> + 'a {
        reads::note(|| Read::delegations(ns));
        in_namespace(&self.delegations, ns)
    }
}

/// A cached Secret: with its data, or (without certificate material) its type alone.
#[derive(Debug, Clone, Copy)]
pub enum SecretEntry<'a> {
    Full(&'a CachedSecret),
    Bare(Option<&'a str>),
}

fn in_namespace<'a, T>(map: &'a ByName<T>, ns: &'a str) -> impl Iterator<Item = &'a T> + 'a {
    map.range((ns.to_string(), String::new())..)
        .take_while(move |((n, _), _)| n == ns)
        .map(|(_, v)| &**v)
}

#[cfg(test)]
mod tests;
