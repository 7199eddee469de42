//! Which Services and Secrets the cached Ingresses, HTTPProxies and ExtensionServices name, kept up to date on every
//! insert and removal: whether a Service or Secret change matters is then a lookup, not a scan of
//! every proxy (a cold start inserting S Secrets next to P proxies used to cost S × P).
//!
//! Objects are known by their [`Read`] digest rather than by their names: the index only
//! answers whether something is named, and a digest is 16 bytes where a name pair is two
//! allocations.

use std::collections::BTreeMap;

use contour_api::v1::HTTPProxy;
use contour_api::v1alpha1::ExtensionService;
use foldhash::HashMap;
use k8s_openapi::api::networking::v1::Ingress;

use super::Read;
use crate::object::Kind;
use crate::references;

/// `(namespace, name)`.
type NsName = (String, String);

/// What one Ingress or HTTPProxy names (sorted, without duplicates).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Named {
    services: Vec<Read>,
    secrets: Vec<Read>,
}

impl Named {
    fn new<'a>(
        services: impl IntoIterator<Item = (&'a str, &'a str)>,
        secrets: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        fn digests<'a>(
            kind: Kind,
            names: impl IntoIterator<Item = (&'a str, &'a str)>,
        ) -> Vec<Read> {
            let mut v: Vec<Read> = names
                .into_iter()
                .map(|(ns, name)| Read::object(kind, ns, name))
                .collect();
            v.sort();
            v.dedup();
            v
        }
        Named {
            services: digests(Kind::Service, services),
            secrets: digests(Kind::Secret, secrets),
        }
    }

    pub fn of_proxy(p: &HTTPProxy) -> Self {
        let ns = p.metadata.namespace.as_deref().unwrap_or_default();
        let services = references::proxy_service_names(p).map(|s| (ns, s));
        Named::new(services, pairs(&references::proxy_secrets(p)))
    }

    pub fn of_extension(e: &ExtensionService) -> Self {
        let ns = e.metadata.namespace.as_deref().unwrap_or_default();
        let services = references::extension_service_names(e).map(|s| (ns, s));
        Named::new(services, pairs(&references::extension_secrets(e)))
    }

    pub fn of_ingress(ing: &Ingress) -> Self {
        let ns = ing.metadata.namespace.as_deref().unwrap_or_default();
        let backends = references::ingress_backends(ing);
        let services = backends
            .iter()
            .filter_map(|b| b.service.as_ref())
            .map(|s| (ns, s.name.as_str()));
        Named::new(services, pairs(&references::ingress_secrets(ing)))
    }
}

/// Borrowed `(namespace, name)` pairs.
fn pairs(names: &[NsName]) -> impl Iterator<Item = (&str, &str)> {
    names.iter().map(|(ns, name)| (ns.as_str(), name.as_str()))
}

/// Reference counts of Services and Secrets over every cached Ingress and HTTPProxy.
#[derive(Debug, Default, Clone)]
pub(super) struct RefIndex {
    by_object: HashMap<Read, Named>,
    services: BTreeMap<Read, usize>,
    secrets: BTreeMap<Read, usize>,
}

fn add(counts: &mut BTreeMap<Read, usize>, keys: &[Read]) {
    for k in keys {
        *counts.entry(*k).or_default() += 1;
    }
}

fn sub(counts: &mut BTreeMap<Read, usize>, keys: &[Read]) {
    for k in keys {
        if let Some(n) = counts.get_mut(k) {
            *n -= 1;
            if *n == 0 {
                counts.remove(k);
            }
        }
    }
}

impl RefIndex {
    /// Records what the object `kind key` now names (`None`: it is gone from the cache).
    pub fn set(&mut self, kind: Kind, key: &NsName, named: Option<Named>) {
        let id = Read::object(kind, &key.0, &key.1);
        if let Some(old) = self.by_object.get(&id) {
            if Some(old) == named.as_ref() {
                return;
            }
            sub(&mut self.services, &old.services);
            sub(&mut self.secrets, &old.secrets);
            self.by_object.remove(&id);
        }
        if let Some(new) = named {
            add(&mut self.services, &new.services);
            add(&mut self.secrets, &new.secrets);
            self.by_object.insert(id, new);
        }
    }

    pub fn service_named(&self, key: &NsName) -> bool {
        let id = Read::object(Kind::Service, &key.0, &key.1);
        self.services.contains_key(&id)
    }

    pub fn secret_named(&self, key: &NsName) -> bool {
        let id = Read::object(Kind::Secret, &key.0, &key.1);
        self.secrets.contains_key(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(ns: &str, name: &str) -> NsName {
        (ns.to_string(), name.to_string())
    }

    #[test]
    fn counts_follow_replacement_and_removal() {
        let mut idx = RefIndex::default();
        let a = Named::new([("n", "svc")], [("n", "tls"), ("n", "tls")]);
        let b = Named::new([("n", "svc")], []);
        idx.set(Kind::HTTPProxy, &k("n", "p1"), Some(a.clone()));
        idx.set(Kind::Ingress, &k("n", "i1"), Some(b));
        assert!(idx.secret_named(&k("n", "tls")) && idx.service_named(&k("n", "svc")));
        // p1 stops naming the Secret; the Service is still named by i1.
        idx.set(Kind::HTTPProxy, &k("n", "p1"), Some(Named::default()));
        assert!(!idx.secret_named(&k("n", "tls")));
        assert!(idx.service_named(&k("n", "svc")));
        idx.set(Kind::Ingress, &k("n", "i1"), None);
        assert!(!idx.service_named(&k("n", "svc")));
        idx.set(Kind::HTTPProxy, &k("n", "p1"), None);
        assert!(idx.by_object.is_empty() && idx.services.is_empty() && idx.secrets.is_empty());
    }
}
