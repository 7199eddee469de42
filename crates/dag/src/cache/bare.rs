//! Secrets without certificate material, as compact as they can be: a cluster holds many of
//! them (Helm keeps every release of every chart as a Secret) and no build reads more of one
//! than its type, for the error of a reference to it.
//!
//! Per Secret this is one B-tree entry (its name and [`BareSecret`]) and the name's allocation:
//! the namespace is held once for all its Secrets, each distinct type once for all Secrets of
//! that type.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What is kept of a Secret without certificate material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct BareSecret {
    /// Its type, shared with every other Secret of the same type.
    ty: Option<Arc<str>>,
}

/// Secrets without certificate material by namespace, then name: their type.
#[derive(Debug, Default, Clone)]
pub struct BareSecrets {
    by_ns: BTreeMap<Box<str>, BTreeMap<Box<str>, BareSecret>>,
    /// Each type in use, once. A type no Secret has any more is dropped (unless a clone of the
    /// cache still shares it).
    types: BTreeSet<Arc<str>>,
    len: usize,
}

impl BareSecrets {
    /// The type of the Secret `ns/name` (`Some(None)`: held, without a type).
    pub fn get(&self, ns: &str, name: &str) -> Option<Option<&str>> {
        self.entry(ns, name).map(|s| s.ty.as_deref())
    }

    pub fn contains(&self, ns: &str, name: &str) -> bool {
        self.entry(ns, name).is_some()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(super) fn entry(&self, ns: &str, name: &str) -> Option<&BareSecret> {
        self.by_ns.get(ns)?.get(name)
    }

    /// Inserts or replaces the Secret `ns/name` with type `ty`; returns whether it is new or its
    /// type changed.
    pub(super) fn insert(&mut self, ns: &str, name: &str, ty: Option<String>) -> bool {
        if let Some(old) = self.entry(ns, name)
            && old.ty.as_deref() == ty.as_deref()
        {
            return false;
        }
        let ty = ty.map(|t| self.intern(t));
        let names = match self.by_ns.get_mut(ns) {
            Some(names) => names,
            None => self.by_ns.entry(ns.into()).or_default(),
        };
        let old = match names.get_mut(name) {
            Some(entry) => Some(std::mem::replace(&mut entry.ty, ty)),
            None => {
                names.insert(name.into(), BareSecret { ty });
                self.len += 1;
                None
            }
        };
        if let Some(old) = old {
            self.release(old);
        }
        true
    }

    /// Removes the Secret `ns/name`; returns whether it was held.
    pub(super) fn remove(&mut self, ns: &str, name: &str) -> bool {
        let Some(names) = self.by_ns.get_mut(ns) else {
            return false;
        };
        let Some(gone) = names.remove(name) else {
            return false;
        };
        if names.is_empty() {
            self.by_ns.remove(ns);
        }
        self.len -= 1;
        self.release(gone.ty);
        true
    }

    fn intern(&mut self, ty: String) -> Arc<str> {
        if let Some(shared) = self.types.get(ty.as_str()) {
            return shared.clone();
        }
        let shared: Arc<str> = ty.into();
        self.types.insert(shared.clone());
        shared
    }

    /// Drops an entry's type, and the type itself when nothing else uses it.
    fn release(&mut self, ty: Option<Arc<str>>) {
        // Two: `ty` and the interned copy.
        if let Some(ty) = ty
            && Arc::strong_count(&ty) == 2
        {
            self.types.remove(&*ty);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_stay_small() {
        // A name and the entry: the B-tree holds eleven of these per node, one node per five to
        // eleven Secrets. (Before: two Strings as the key, 48 bytes, and a 16-byte type.)
        assert!(size_of::<(Box<str>, BareSecret)>() <= 40);
    }

    #[test]
    fn one_allocation_per_type_dropped_with_its_last_secret() {
        let mut s = BareSecrets::default();
        assert!(s.insert("ns", "a", Some("helm.sh/release.v1".into())));
        assert!(s.insert("ns", "b", Some("helm.sh/release.v1".into())));
        assert!(s.insert("other", "c", Some("helm.sh/release.v1".into())));
        assert!(s.insert("ns", "d", None));
        let ty = |s: &BareSecrets, ns, name| s.entry(ns, name).unwrap().ty.clone().unwrap();
        assert!(Arc::ptr_eq(&ty(&s, "ns", "a"), &ty(&s, "other", "c")));
        assert_eq!(s.types.len(), 1);
        assert_eq!((s.len(), s.by_ns.len()), (4, 2));
        // Unchanged, then another type.
        assert!(!s.insert("ns", "a", Some("helm.sh/release.v1".into())));
        assert!(s.insert("ns", "a", Some("Opaque".into())));
        assert_eq!(s.get("ns", "a"), Some(Some("Opaque")));
        assert_eq!(s.get("ns", "d"), Some(None));
        assert_eq!(s.get("ns", "x"), None);
        assert_eq!(s.types.len(), 2);
        assert!(s.remove("ns", "a"));
        assert!(!s.remove("ns", "a"));
        assert_eq!(s.types.len(), 1, "Opaque is no longer used");
        s.remove("ns", "b");
        s.remove("other", "c");
        s.remove("ns", "d");
        assert!(s.is_empty());
        assert!(s.types.is_empty() && s.by_ns.is_empty());
    }
}
