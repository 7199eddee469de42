//! The DAG's distinct clusters for [`super::Translator`], named once per shared cluster: the
//! incremental DAG build hands an unchanged host on with the same cluster `Arc`s, so at 10,000
//! hosts a one-route change names one host's clusters instead of hashing every cluster's
//! policies again.

use std::collections::hash_map::Entry;
use std::sync::Arc;

use foldhash::{HashMap, HashMapExt, HashSet};

use contour_dag::Cluster;

use super::uses::ByAddress;
use crate::names::cluster_name_from_parts;

/// A DAG cluster with its CDS name and its policy key.
pub(super) struct Named {
    pub cluster: Arc<Cluster>,
    pub name: String,
    policy_key: String,
    /// The translation that last used it.
    used: u64,
}

impl Named {
    fn new(cluster: &Arc<Cluster>, used: u64) -> Self {
        let policy_key = cluster.policy_key();
        Named {
            name: cluster_name_from_parts(&cluster.service, &policy_key),
            cluster: Arc::clone(cluster),
            policy_key,
            used,
        }
    }

    /// What makes clusters distinct in [`contour_dag::Dag::clusters`]: service, port and policy.
    fn key(&self) -> (&str, &str, u16, &str) {
        let s = &self.cluster.service;
        (&s.namespace, &s.name, s.port, &self.policy_key)
    }
}

/// Named clusters by address. The entries hold their `Arc`s, so an address is not reused while
/// it is a key; each translation keeps the entries it used (in place: moving 10,000 entries to
/// a new map cost more than the lookups).
#[derive(Default)]
pub(super) struct Names {
    current: ByAddress<Named>,
    generation: u64,
    /// The clusters of the last translation, each once, in the order of first use.
    order: Vec<usize>,
}

impl Names {
    /// Names the clusters not named last time, of `uses` in the order of
    /// [`contour_dag::Dag::cluster_uses`].
    pub fn update<'a>(&mut self, uses: impl Iterator<Item = &'a Arc<Cluster>>) {
        self.generation += 1;
        let generation = self.generation;
        self.order.clear();
        let mut last = 0;
        for c in uses {
            let ptr = Arc::as_ptr(c) as usize;
            // The routes of one host mostly share a cluster.
            if std::mem::replace(&mut last, ptr) == ptr {
                continue;
            }
            match self.current.entry(ptr) {
                Entry::Occupied(mut e) if e.get().used != generation => {
                    e.get_mut().used = generation
                }
                Entry::Occupied(_) => continue,
                Entry::Vacant(e) => _ = e.insert(Named::new(c, generation)),
            }
            self.order.push(ptr);
        }
        self.current.retain(|_, n| n.used == generation);
    }

    /// Each name once, with the cluster [`crate::translate`] gives it: of the clusters of equal
    /// name (clusters of equal service, port and policy, or a hash collision), the one of the
    /// least service, port and policy, then the first used. In the order of first use, which
    /// changes little from one translation to the next.
    pub fn distinct(&self) -> Vec<&Named> {
        let mut by_name: HashMap<&str, usize> = HashMap::with_capacity(self.order.len());
        let named: Vec<&Named> = self.in_order().collect();
        for (i, n) in named.iter().enumerate() {
            by_name
                .entry(&n.name)
                .and_modify(|first| {
                    if n.key() < named[*first].key() {
                        *first = i;
                    }
                })
                .or_insert(i);
        }
        let mut winners: Vec<usize> = by_name.into_values().collect();
        winners.sort_unstable();
        winners.into_iter().map(|i| named[i]).collect()
    }

    /// The TLS clusters of [`contour_dag::Dag::clusters`], in its order: which of equal clusters presents a
    /// client certificate decides which certificate is served.
    pub fn tls(&self) -> Vec<&Cluster> {
        let tls: HashSet<_> = self
            .in_order()
            .filter(|n| n.cluster.is_tls())
            .map(Named::key)
            .collect();
        if tls.is_empty() {
            return Vec::new();
        }
        // Every cluster of a TLS cluster's key (a policy key does not tell every protocol
        // apart), sorted and deduplicated as `Dag::clusters` does.
        let mut keyed: Vec<&Named> = self.in_order().filter(|n| tls.contains(&n.key())).collect();
        keyed.sort_by(|a, b| a.key().cmp(&b.key()));
        keyed.dedup_by(|later, earlier| later.key() == earlier.key());
        keyed
            .into_iter()
            .map(|n| &*n.cluster)
            .filter(|c| c.is_tls())
            .collect()
    }

    fn in_order(&self) -> impl Iterator<Item = &Named> {
        self.order.iter().map(|ptr| &self.current[ptr])
    }
}
