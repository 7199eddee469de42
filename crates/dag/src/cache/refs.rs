//! Which Services and Secrets the cached Ingresses, HTTPProxies and ExtensionServices name, kept up to date on every
//! insert and removal: whether a Service or Secret change matters is then a lookup, not a scan of
//! every proxy (a cold start inserting S Secrets next to P proxies used to cost S × P).

use std::collections::BTreeMap;

use contour_api::v1::HTTPProxy;
use contour_api::v1alpha1::ExtensionService;
use k8s_openapi::api::networking::v1::Ingress;

use crate::object::Kind;
use crate::references;

/// `(namespace, name)`.
type NsName = (String, String);

/// What one Ingress or HTTPProxy names (sorted, without duplicates).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Named {
    services: Vec<NsName>,
    secrets: Vec<NsName>,
}

impl Named {
    fn new(mut services: Vec<NsName>, mut secrets: Vec<NsName>) -> Self {
        services.sort();
        services.dedup();
        secrets.sort();
        secrets.dedup();
        Named { services, secrets }
    }

    pub fn of_proxy(p: &HTTPProxy) -> Self {
        let ns = p.metadata.namespace.as_deref().unwrap_or_default();
        let services = references::proxy_service_names(p)
            .map(|s| (ns.to_string(), s.to_string()))
            .collect();
        Named::new(services, references::proxy_secrets(p))
    }

    pub fn of_extension(e: &ExtensionService) -> Self {
        let ns = e.metadata.namespace.as_deref().unwrap_or_default();
        let services = references::extension_service_names(e)
            .map(|s| (ns.to_string(), s.to_string()))
            .collect();
        Named::new(services, references::extension_secrets(e))
    }

    pub fn of_ingress(ing: &Ingress) -> Self {
        let ns = ing.metadata.namespace.as_deref().unwrap_or_default();
        let services = references::ingress_backends(ing)
            .into_iter()
            .filter_map(|b| b.service.as_ref())
            .map(|s| (ns.to_string(), s.name.clone()))
            .collect();
        Named::new(services, references::ingress_secrets(ing))
    }
}

/// Reference counts of Services and Secrets over every cached Ingress and HTTPProxy.
#[derive(Debug, Default, Clone)]
pub(super) struct RefIndex {
    by_object: BTreeMap<(Kind, NsName), Named>,
    services: BTreeMap<NsName, usize>,
    secrets: BTreeMap<NsName, usize>,
}

fn add(counts: &mut BTreeMap<NsName, usize>, keys: &[NsName]) {
    for k in keys {
        *counts.entry(k.clone()).or_default() += 1;
    }
}

fn sub(counts: &mut BTreeMap<NsName, usize>, keys: &[NsName]) {
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
        let id = (kind, key.clone());
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
        self.services.contains_key(key)
    }

    pub fn secret_named(&self, key: &NsName) -> bool {
        self.secrets.contains_key(key)
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
        let a = Named::new(vec![k("n", "svc")], vec![k("n", "tls"), k("n", "tls")]);
        let b = Named::new(vec![k("n", "svc")], vec![]);
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
