//! The incremental build: [`IncrementalBuild`] gives exactly what [`crate::build`] gives for the
//! same cache and configuration, recomputing only the HTTPProxy roots whose inputs changed.
//!
//! Per root it remembers what the root contributed (its finished plain and secure virtual
//! hosts, the statuses of the proxies its tree reached, which proxies it reached) and every
//! cache object it read to produce that, with the object's revision ([`crate::cache::Read`]).
//! The next build reuses a contribution whose reads all still have their revision and whose
//! host no Ingress shares; everything that spans roots is redone from the cache each time, in
//! the order of the full build: the grouping of roots by FQDN (duplicates), Ingress and
//! ExtensionService processing, hosts shared with Ingresses (processed as the full build does),
//! orphaned proxies, and the Service policies. A change of configuration forgets everything.
//! Unchanged hosts are the same `Arc` in consecutive DAGs.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use foldhash::HashMap;

use crate::cache::CachedProxy;

use crate::builder::{BuildConfig, BuildOutput, DagBuilder, listeners};
use crate::cache::{Cache, Read, recording};
use crate::model::{Dag, SecureVirtualHost, ServicePolicy, VirtualHost};
use crate::object::Kind;
use crate::parallel;
use crate::status::{CompactStatus, ProxyKey, StatusSet};
use crate::{extension, global_headers, httpproxy, ingress, service_policy};

/// What one root contributed, and what it read to do so.
struct RootMemo {
    fqdn: String,
    reads: Vec<(Read, u64)>,
    status: CompactStatus,
    /// The proxies without a virtual host that its tree reached (what orphan detection needs;
    /// the root itself is left out).
    reached: Vec<ProxyKey>,
    vhost: Option<Arc<VirtualHost>>,
    secure: Option<Arc<SecureVirtualHost>>,
    /// The [`Dag::services`] entries of the Services its hosts forward to.
    services: Vec<(ServiceKey, ServicePolicy)>,
    /// The last build that used it (memos of roots gone or changed are dropped after a build).
    used_by: u64,
}

type ServiceKey = (String, String);

impl RootMemo {
    fn still_valid(&self, cache: &Cache, fqdn: &str) -> bool {
        self.fqdn == fqdn && self.reads.iter().all(|(r, rev)| cache.revision(r) == *rev)
    }
}

/// How much of the last build was reused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reuse {
    /// Roots whose contribution was reused.
    pub reused: usize,
    /// Roots computed again (changed, new, or sharing their host with an Ingress).
    pub computed: usize,
}

/// A build that remembers per-root contributions between calls (see the module docs).
#[derive(Default)]
pub struct IncrementalBuild {
    cfg: Option<BuildConfig>,
    roots: HashMap<ProxyKey, RootMemo>,
    /// Builds made (a memo records the last that used it).
    builds: u64,
    last: Reuse,
}

impl IncrementalBuild {
    pub fn new() -> Self {
        Self::default()
    }

    /// What the last [`Self::build`] reused.
    pub fn last_reuse(&self) -> Reuse {
        self.last
    }

    /// Equal to [`crate::build`]`(cache, cfg)`.
    pub fn build(&mut self, cache: &Cache, cfg: &BuildConfig) -> BuildOutput {
        if self.cfg.as_ref() != Some(cfg) {
            *self = IncrementalBuild {
                cfg: Some(cfg.clone()),
                ..Default::default()
            };
        }
        let mut shared = DagBuilder::new(cfg);
        let mut status = StatusSet::default();
        // The order of the full build: Ingress, ExtensionService, HTTPProxy.
        ingress::process(cache, cfg, &mut shared);
        let extension_clusters = extension::process(cache, cfg, &mut status);
        let groups = httpproxy::roots_by_fqdn(cache, &mut status);
        let mut reuse = self.update_memos(cache, cfg, &groups, &shared);
        let this_build = self.builds;
        let mut services: BTreeMap<ServiceKey, ServicePolicy> = BTreeMap::new();
        let mut reached: BTreeSet<ProxyKey> = BTreeSet::new();
        let (mut vhosts, mut secure) = (Vec::new(), Vec::new());
        // Merged in the full build's order (by FQDN), whichever thread computed a memo.
        for (fqdn, roots) in &groups {
            if roots.len() > 1 {
                httpproxy::report_duplicates(fqdn, roots, &mut status);
                continue;
            }
            let (key, root) = roots[0];
            let memo = self.roots.get(key).filter(|m| m.used_by == this_build);
            let Some(memo) = memo else {
                // An Ingress serves this host too: merged as the full build merges them.
                reuse.computed += 1;
                httpproxy::process_root(
                    cache,
                    cfg,
                    root,
                    fqdn,
                    &mut shared,
                    &mut status,
                    &mut reached,
                );
                continue;
            };
            status.merge_compact(&memo.status);
            reached.extend(memo.reached.iter().cloned());
            vhosts.extend(memo.vhost.clone());
            secure.extend(memo.secure.clone());
            services.extend(memo.services.iter().cloned());
        }
        self.roots.retain(|_, m| m.used_by == this_build);
        httpproxy::report_orphans(cache, &reached, &mut status);
        let (plain, tls) = shared.into_hosts();
        let plain: Vec<_> = plain
            .into_iter()
            .map(|v| Arc::new(finish_vhost(cache, cfg, v)))
            .collect();
        let tls: Vec<_> = tls
            .into_iter()
            .map(|s| Arc::new(finish_secure(cache, cfg, s)))
            .collect();
        services.extend(host_services(cache, cfg, &plain, &tls));
        vhosts.extend(plain);
        secure.extend(tls);
        vhosts.sort_by(|a, b| a.fqdn.cmp(&b.fqdn));
        secure.sort_by(|a, b| a.fqdn().cmp(b.fqdn()));
        let dag = Dag {
            listeners: listeners(cfg, vhosts, secure),
            extension_clusters,
            services,
        };
        self.last = reuse;
        BuildOutput { dag, status }
    }

    /// Brings the memo of every root that stands alone on its host up to date for a new build:
    /// the last build's when its reads are unchanged, else computed again (on every core: the
    /// first build computes them all). Roots with a duplicate FQDN or a host shared with an
    /// Ingress get none. A memo is for this build when its `used_by` is [`Self::builds`].
    fn update_memos<'a>(
        &mut self,
        cache: &'a Cache,
        cfg: &BuildConfig,
        groups: &BTreeMap<Cow<'a, str>, httpproxy::Roots<'a>>,
        shared: &DagBuilder,
    ) -> Reuse {
        self.builds += 1;
        let this_build = self.builds;
        let mut reused = 0;
        let mut todo = Vec::new();
        for (fqdn, roots) in groups {
            if roots.len() > 1 || shared.has_host(fqdn) {
                continue;
            }
            let (key, root) = roots[0];
            match self.roots.get_mut(key) {
                Some(m) if m.still_valid(cache, fqdn) => {
                    m.used_by = this_build;
                    reused += 1;
                }
                _ => todo.push((key, root, &**fqdn)),
            }
        }
        let computed = parallel::map(&todo, |(_, root, fqdn)| {
            compute_root(cache, cfg, root, fqdn)
        });
        self.roots.reserve(computed.len());
        for ((key, ..), memo) in todo.iter().zip(computed) {
            let memo = RootMemo {
                used_by: this_build,
                ..memo
            };
            self.roots.insert((*key).clone(), memo);
        }
        Reuse {
            reused,
            computed: todo.len(),
        }
    }
}

/// One root's contribution, computed from scratch while recording what it reads.
fn compute_root(cache: &Cache, cfg: &BuildConfig, root: &CachedProxy, fqdn: &str) -> RootMemo {
    let (memo, reads) = recording(|| {
        let mut builder = DagBuilder::new(cfg);
        let mut status = StatusSet::default();
        let mut reached = BTreeSet::new();
        httpproxy::process_root(
            cache,
            cfg,
            root,
            fqdn,
            &mut builder,
            &mut status,
            &mut reached,
        );
        let (plain, tls) = builder.into_hosts();
        let vhost = plain
            .into_iter()
            .next()
            .map(|v| Arc::new(finish_vhost(cache, cfg, v)));
        let secure = tls
            .into_iter()
            .next()
            .map(|s| Arc::new(finish_secure(cache, cfg, s)));
        let services = host_services(cache, cfg, vhost.iter(), secure.iter());
        RootMemo {
            fqdn: fqdn.to_string(),
            reads: Vec::new(),
            status: status.compact(),
            // Read outside the recording on purpose: every reached proxy (the root too) is
            // among the recorded reads already, so a change to any of them invalidates the memo.
            reached: reached
                .into_iter()
                .filter(|k| {
                    cache
                        .proxies
                        .get(k)
                        .is_none_or(|p| p.spec.virtualhost.is_none())
                })
                .collect(),
            vhost,
            secure,
            services,
            used_by: 0,
        }
    });
    let (ns, name) = httpproxy::key_of(root);
    let this = Read::object(Kind::HTTPProxy, &ns, &name);
    let reads = reads
        .into_iter()
        .chain(std::iter::once(this))
        .map(|r| {
            let rev = cache.revision(&r);
            (r, rev)
        })
        .collect();
    RootMemo { reads, ..memo }
}

/// The [`Dag::services`] entries of the Services `vhosts` and `secure` forward to: the union over
/// every host is the full build's (an entry depends on its Service alone).
fn host_services<'a>(
    cache: &Cache,
    cfg: &BuildConfig,
    vhosts: impl IntoIterator<Item = &'a Arc<VirtualHost>>,
    secure: impl IntoIterator<Item = &'a Arc<SecureVirtualHost>>,
) -> Vec<(ServiceKey, ServicePolicy)> {
    let hosts = Dag {
        listeners: listeners(
            cfg,
            vhosts.into_iter().cloned().collect(),
            secure.into_iter().cloned().collect(),
        ),
        ..Default::default()
    };
    service_policy::policies(cache, cfg, &hosts)
        .into_iter()
        .collect()
}

/// What the full build does to every host after the processors: refused ExternalName Services
/// dropped, then the global headers.
fn finish_vhost(cache: &Cache, cfg: &BuildConfig, mut vhost: VirtualHost) -> VirtualHost {
    service_policy::drop_refused_vhost(&mut vhost, |s| service_policy::refused(cache, cfg, s));
    global_headers::apply_to_vhost(&cfg.global_headers, &mut vhost);
    vhost
}

fn finish_secure(cache: &Cache, cfg: &BuildConfig, mut s: SecureVirtualHost) -> SecureVirtualHost {
    service_policy::drop_refused_secure(&mut s, |c| service_policy::refused(cache, cfg, c));
    global_headers::apply_to_vhost(&cfg.global_headers, &mut s.virtual_host);
    s
}

#[cfg(test)]
mod tests;
