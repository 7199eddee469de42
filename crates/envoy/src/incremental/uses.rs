//! The clusters each DAG host uses, remembered per shared host: the incremental DAG build
//! hands an unchanged host on as the same `Arc`, so a translation walks the routes of the
//! changed hosts only, not every route of 10,000 hosts.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use contour_dag::{Cluster, Dag, RouteAction, Secret, SecureVirtualHost, VirtualHost};

use crate::names::secret_name;

/// The clusters of one host, in the order of [`Dag::cluster_uses`], without consecutive
/// repeats (which [`Dag::clusters`] skips too).
#[derive(Default)]
struct HostUses {
    forwards: Vec<Arc<Cluster>>,
    tcp: Vec<Arc<Cluster>>,
    mirrors: Vec<Arc<Cluster>>,
    /// The SDS names of a secure host's serving and fallback certificates.
    certificates: Vec<String>,
}

impl HostUses {
    fn of(vh: &VirtualHost) -> Self {
        let mut uses = HostUses::default();
        for route in vh.routes.values() {
            if let RouteAction::Forward(f) = &route.action {
                f.clusters
                    .iter()
                    .for_each(|wc| push(&mut uses.forwards, &wc.cluster));
                if let Some(m) = &f.mirror {
                    push(&mut uses.mirrors, &m.cluster);
                }
            }
        }
        uses
    }

    fn of_secure(s: &SecureVirtualHost) -> Self {
        let mut uses = Self::of(&s.virtual_host);
        for wc in s.tcp_proxy.iter().flat_map(|t| &t.clusters) {
            push(&mut uses.tcp, &wc.cluster);
        }
        let served = s.secret.iter().chain(s.fallback_certificate.iter());
        uses.certificates = served.map(secret_name).collect();
        uses
    }
}

fn push(to: &mut Vec<Arc<Cluster>>, c: &Arc<Cluster>) {
    if to.last().is_none_or(|last| !Arc::ptr_eq(last, c)) {
        to.push(Arc::clone(c));
    }
}

/// A host, held so that its address is not reused while it is a key.
enum Host {
    Plain(#[allow(dead_code)] Arc<VirtualHost>),
    Secure(#[allow(dead_code)] Arc<SecureVirtualHost>),
}

/// Hashes an address (a `usize` key) with one multiplication: SipHash cost more than the
/// lookups it serves.
#[derive(Default)]
pub(super) struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_usize(&mut self, n: usize) {
        let x = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = x ^ (x >> 29);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map by address.
pub(super) type ByAddress<V> = HashMap<usize, V, BuildHasherDefault<AddressHasher>>;

/// The cluster uses of each host of the last translation.
#[derive(Default)]
pub(super) struct Uses {
    /// Each host's uses and the translation that last used them (entries stay in place).
    hosts: ByAddress<(Host, Arc<HostUses>, u64)>,
    generation: u64,
    /// Per listener, in order: the uses of its plain and of its secure hosts.
    listeners: Vec<ListenerUses>,
}

/// The uses of a listener's plain, and of its secure hosts.
type ListenerUses = (Vec<Arc<HostUses>>, Vec<Arc<HostUses>>);

impl Uses {
    /// Brings the uses up to date with `dag`, walking the routes of new hosts only.
    pub fn update(&mut self, dag: &Dag) {
        self.generation += 1;
        self.listeners.clear();
        for l in dag.listeners.values() {
            let plain = self.hosts(&l.virtual_hosts, |vh| {
                (Host::Plain(Arc::clone(vh)), HostUses::of(vh))
            });
            let secure = self.hosts(&l.secure_virtual_hosts, |s| {
                (Host::Secure(Arc::clone(s)), HostUses::of_secure(s))
            });
            self.listeners.push((plain, secure));
        }
        let generation = self.generation;
        self.hosts.retain(|_, (_, _, used)| *used == generation);
    }

    /// The uses of each of `hosts` (by address), made for the new ones; marked used by this
    /// translation.
    fn hosts<T>(
        &mut self,
        hosts: &[Arc<T>],
        make: impl Fn(&Arc<T>) -> (Host, HostUses),
    ) -> Vec<Arc<HostUses>> {
        let generation = self.generation;
        let mut out = Vec::with_capacity(hosts.len());
        for h in hosts {
            let (_, uses, used) = self
                .hosts
                .entry(Arc::as_ptr(h) as usize)
                .or_insert_with(|| {
                    let (host, uses) = make(h);
                    (host, Arc::new(uses), generation)
                });
            *used = generation;
            out.push(Arc::clone(uses));
        }
        out
    }

    /// [`crate::secret::served_certificates`] of `dag`, the one of the last
    /// [`Self::update`], with their names.
    pub fn certificates<'s, 'd>(
        &'s self,
        dag: &'d Dag,
    ) -> impl Iterator<Item = (&'s str, &'d Secret)> + use<'s, 'd> {
        let secure = dag.listeners.values().map(|l| &l.secure_virtual_hosts);
        secure
            .zip(&self.listeners)
            .flat_map(|(hosts, (_, uses))| hosts.iter().zip(uses))
            .flat_map(|(svh, uses)| {
                let served = svh.secret.iter().chain(svh.fallback_certificate.iter());
                uses.certificates.iter().map(String::as_str).zip(served)
            })
    }

    /// Every cluster use in the order of [`Dag::cluster_uses`], less some repeats.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Cluster>> {
        let forwards = self.listeners.iter().flat_map(|(plain, secure)| {
            let routes = plain.iter().chain(secure).flat_map(|h| &h.forwards);
            routes.chain(secure.iter().flat_map(|h| &h.tcp))
        });
        let mirrors = self
            .listeners
            .iter()
            .flat_map(|(plain, secure)| plain.iter().chain(secure).flat_map(|h| &h.mirrors));
        forwards.chain(mirrors)
    }
}
