//! The object cache: the single store every build reads. One task owns it.
//!
//! `insert`/`remove` answer whether the change can alter the built configuration, so that
//! unreferenced objects (an unrelated Secret, a Service nobody routes to) never trigger a build.

use std::collections::{BTreeMap, BTreeSet};

use contour_api::v1::{HTTPProxy, TLSCertificateDelegation};
use contour_api::v1alpha1::ExtensionService;
use k8s_openapi::api::core::v1::{Namespace, Secret, Service};
use k8s_openapi::api::networking::v1::Ingress;

use crate::ingress_class::{self, ClassFilter};
use crate::object::{Kind, Object, ObjectKey};
use crate::references;

/// Objects keyed by `(namespace, name)`.
pub type ByName<T> = BTreeMap<(String, String), T>;

/// Everything a build reads. EndpointSlices are not here: they take the EDS-only path
/// ([`crate::endpoints::EndpointStore`]).
#[derive(Debug, Default, Clone)]
pub struct Cache {
    pub class_filter: ClassFilter,
    pub namespaces: BTreeMap<String, Namespace>,
    pub services: ByName<Service>,
    pub secrets: ByName<Secret>,
    pub ingresses: ByName<Ingress>,
    pub proxies: ByName<HTTPProxy>,
    pub delegations: ByName<TLSCertificateDelegation>,
    pub extension_services: ByName<ExtensionService>,
    /// Secrets the configuration file names (fallback certificate, Envoy client certificate):
    /// a change to one of them always matters.
    pub config_secrets: BTreeSet<(String, String)>,
}

fn ns_name(key: &ObjectKey) -> (String, String) {
    (key.namespace.clone(), key.name.clone())
}

/// Replaces `slot`'s entry with `value`; returns whether it differed.
fn store<T: PartialEq>(map: &mut ByName<T>, key: (String, String), value: T) -> bool {
    match map.get(&key) {
        Some(old) if *old == value => false,
        _ => {
            map.insert(key, value);
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
        let k = ns_name(&key);
        match obj {
            Object::Namespace(mut ns) => {
                strip(&mut ns.metadata);
                let changed = self.namespaces.get(&key.name) != Some(&ns);
                self.namespaces.insert(key.name, ns);
                changed
            }
            Object::Service(mut svc) => {
                strip(&mut svc.metadata);
                store(&mut self.services, k.clone(), svc) && self.service_referenced(&k)
            }
            Object::Secret(mut secret) => {
                strip(&mut secret.metadata);
                normalize_secret(&mut secret);
                let has_ca = secret_has_ca(&secret);
                store(&mut self.secrets, k.clone(), secret)
                    && (has_ca || self.secret_referenced(&k))
            }
            Object::Ingress(mut ing) => {
                strip(&mut ing.metadata);
                ing.status = None;
                if !ingress_class::ingress_matches(&self.class_filter, &ing) {
                    // A class change away from us removes the object.
                    return self.ingresses.remove(&k).is_some();
                }
                store(&mut self.ingresses, k, ing)
            }
            Object::HTTPProxy(mut proxy) => {
                strip(&mut proxy.metadata);
                proxy.status = None;
                if !ingress_class::proxy_matches(&self.class_filter, &proxy) {
                    return self.proxies.remove(&k).is_some();
                }
                store(&mut self.proxies, k, proxy)
            }
            Object::TLSCertificateDelegation(mut d) => {
                strip(&mut d.metadata);
                store(&mut self.delegations, k, d)
            }
            Object::ExtensionService(mut e) => {
                strip(&mut e.metadata);
                e.status = None;
                store(&mut self.extension_services, k, e)
            }
            // EndpointSlices never go through the build.
            Object::EndpointSlice(_) => false,
        }
    }

    /// Removes an object. Returns whether a rebuild is needed.
    pub fn remove(&mut self, key: &ObjectKey) -> bool {
        let k = ns_name(key);
        match key.kind {
            Kind::Namespace => self.namespaces.remove(&key.name).is_some(),
            Kind::Service => self.services.remove(&k).is_some() && self.service_referenced(&k),
            Kind::Secret => match self.secrets.remove(&k) {
                Some(old) => secret_has_ca(&old) || self.secret_referenced(&k),
                None => false,
            },
            Kind::Ingress => self.ingresses.remove(&k).is_some(),
            Kind::HTTPProxy => self.proxies.remove(&k).is_some(),
            Kind::TLSCertificateDelegation => self.delegations.remove(&k).is_some(),
            Kind::ExtensionService => self.extension_services.remove(&k).is_some(),
            Kind::EndpointSlice => false,
        }
    }

    /// Number of cached objects per kind (metric `contour_dag_cache_object`).
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        BTreeMap::from([
            ("Namespace", self.namespaces.len()),
            ("Service", self.services.len()),
            ("Secret", self.secrets.len()),
            ("Ingress", self.ingresses.len()),
            ("HTTPProxy", self.proxies.len()),
            ("TLSCertificateDelegation", self.delegations.len()),
            ("ExtensionService", self.extension_services.len()),
        ])
    }

    fn service_referenced(&self, (ns, name): &(String, String)) -> bool {
        references::ingresses_reference_service(self.ingresses_in(ns), name)
            || references::proxies_reference_service(self.proxies_in(ns), name)
    }

    /// Whether an Ingress, an HTTPProxy or the configuration file names the Secret.
    pub fn secret_referenced(&self, key: &(String, String)) -> bool {
        let (ns, name) = key;
        self.config_secrets.contains(key)
            || references::ingresses_reference_secret(self.ingresses.values(), ns, name)
            || references::proxies_reference_secret(self.proxies.values(), ns, name)
    }

    /// Ingresses in one namespace.
    pub fn ingresses_in<'a>(&'a self, ns: &'a str) -> impl Iterator<Item = &'a Ingress> + 'a {
        in_namespace(&self.ingresses, ns)
    }

    /// HTTPProxies in one namespace.
    pub fn proxies_in<'a>(&'a self, ns: &'a str) -> impl Iterator<Item = &'a HTTPProxy> + 'a {
        in_namespace(&self.proxies, ns)
    }

    pub fn service(&self, ns: &str, name: &str) -> Option<&Service> {
        self.services.get(&(ns.to_string(), name.to_string()))
    }

    pub fn proxy(&self, ns: &str, name: &str) -> Option<&HTTPProxy> {
        self.proxies.get(&(ns.to_string(), name.to_string()))
    }
}

/// Keeps certificate material only where it can be used: `stringData` is merged into `data`
/// (as the API server does), and the data of Secrets that are neither `kubernetes.io/tls` nor
/// `Opaque` (service-account tokens, Helm releases...) is dropped, as upstream's informer does.
fn normalize_secret(secret: &mut Secret) {
    if let Some(strings) = secret.string_data.take() {
        let data = secret.data.get_or_insert_with(BTreeMap::new);
        for (k, v) in strings {
            data.insert(k, k8s_openapi::ByteString(v.into_bytes()));
        }
    }
    if crate::tls::validate::check_type(secret.type_.as_deref()).is_err() {
        secret.data = None;
    }
}

/// A Secret holding a CA bundle may be referenced from places the cache does not track
/// cheaply (upstream rebuilds for any such Secret).
fn secret_has_ca(secret: &Secret) -> bool {
    secret
        .data
        .as_ref()
        .is_some_and(|d| d.contains_key(crate::tls::validate::CA_CERT_KEY))
}

fn in_namespace<'a, T>(map: &'a ByName<T>, ns: &'a str) -> impl Iterator<Item = &'a T> + 'a {
    map.range((ns.to_string(), String::new())..)
        .take_while(move |((n, _), _)| n == ns)
        .map(|(_, v)| v)
}

/// Drops the fields that never affect configuration, so that a re-applied but otherwise
/// identical object compares equal.
fn strip(meta: &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) {
    meta.managed_fields = None;
    meta.resource_version = None;
}

#[cfg(test)]
mod tests;
