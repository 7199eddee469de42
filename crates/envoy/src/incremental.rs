//! Incremental translation: [`Translator`] remembers, per virtual host, secure virtual host,
//! cluster, extension cluster and certificate, the DAG input it last translated and the encoded result, and
//! re-translates only inputs that changed. Large resources are assembled from cached parts
//! ([`crate::splice`]): `ingress_http` from its encoded virtual hosts, `ingress_https` from its
//! encoded filter chains. The output is byte-identical to [`crate::translate`] (tested over
//! sequences of edits), so a one-route change costs one virtual host's translation plus copying
//! bytes, whatever the cluster's size.
//!
//! Outputs are shared bytes ([`Bytes`]) handed to the snapshot store without copying. Once a
//! large resource is assembled, the parts it was assembled from are re-pointed at their place in
//! it ([`Assembled`]): the filter chains and virtual hosts are held once, inside the resource the
//! store serves, instead of twice (~18 MB at 10,000 HTTPProxies).

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};
use std::ops::Range;
use std::sync::Arc;

use contour_dag::{
    Dag, ExtensionCluster, SecureVirtualHost, ServicePolicy, VirtualHost as DagVirtualHost,
};
use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::config::route::v3::{RouteConfiguration, ScopedRouteConfiguration};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::Secret;
use envoy_types::pb::envoy::service::runtime::v3::Runtime;
use envoy_types::pb::google::protobuf::Any;
use prost::bytes::Bytes;
use prost::{Message, Name};

use crate::config::TranslateConfig;
use crate::listener::{
    apply_ingress_settings, chain_key, http_listener, https_fallback_chain, https_listener_shell,
    secure_filter_chain,
};
use crate::names::{
    FALLBACK_CERT_ROUTE_CONFIG_NAME, HTTP_LISTENER_NAME, HTTPS_LISTENER_NAME,
    https_route_config_name,
};
use crate::route::RouteOptions;
use crate::splice::encode_with;
use crate::{Resources, cluster, route, runtime, scopes, secret, stats};

mod clusters;
mod table;
mod uses;

use clusters::{Named, Names};
use table::Table;
use uses::Uses;

/// `RouteConfiguration.virtual_hosts` and `Listener.filter_chains`.
const VIRTUAL_HOSTS_TAG: u32 = 2;
const FILTER_CHAINS_TAG: u32 = 3;

/// An encoded Envoy virtual host with what route configurations sort it by.
struct EncodedVhost {
    name: String,
    domains: Vec<String>,
    bytes: Bytes,
}

/// Encoded resources of one type by name (the `Any` values; the type is the field's).
pub type Encoded = BTreeMap<String, Bytes>;

/// The resource types a translation changed, each with all its resources; `None` when the
/// type is unchanged since the previous translation.
#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    pub listeners: Option<Encoded>,
    pub routes: Option<Encoded>,
    /// Only with the configuration (it depends on nothing else).
    pub scoped_routes: Option<Encoded>,
    pub clusters: Option<Encoded>,
    pub secrets: Option<Encoded>,
    /// Always given (one small resource).
    pub runtimes: Encoded,
}

impl Changes {
    /// What a client holding `served` holds after these changes.
    pub fn apply_to(self, served: &mut Resources) {
        let put = |to: &mut BTreeMap<String, Any>, from: Option<Encoded>, type_url: String| {
            if let Some(from) = from {
                *to = any_map(from, &type_url);
            }
        };
        put(&mut served.listeners, self.listeners, Listener::type_url());
        put(
            &mut served.routes,
            self.routes,
            RouteConfiguration::type_url(),
        );
        put(
            &mut served.scoped_routes,
            self.scoped_routes,
            ScopedRouteConfiguration::type_url(),
        );
        put(&mut served.clusters, self.clusters, Cluster::type_url());
        put(&mut served.secrets, self.secrets, Secret::type_url());
        put(
            &mut served.runtimes,
            Some(self.runtimes),
            Runtime::type_url(),
        );
    }
}

fn any_map(encoded: Encoded, type_url: &str) -> BTreeMap<String, Any> {
    encoded
        .into_iter()
        .map(|(name, value)| {
            let any = Any {
                type_url: type_url.to_string(),
                value: value.to_vec(),
            };
            (name, any)
        })
        .collect()
}

fn encode(m: &impl Message) -> Bytes {
    Bytes::from(m.encode_to_vec())
}

/// The large resources last assembled from parts, by name: a resource assembled again with
/// the same bytes is handed on as the same allocation (the one the store already holds), so
/// that its parts, re-pointed into it, never keep a second copy alive.
#[derive(Default)]
struct Assembled(HashMap<String, Bytes>);

impl Assembled {
    /// `fresh` as shared bytes: the previous allocation of `name` when the bytes are the same.
    fn keep(&self, next: &mut HashMap<String, Bytes>, name: &str, fresh: Vec<u8>) -> Bytes {
        let whole = match self.0.get(name) {
            Some(prev) if prev[..] == fresh[..] => prev.clone(),
            _ => Bytes::from(fresh),
        };
        next.insert(name.to_string(), whole.clone());
        whole
    }

    /// The configuration assembled as `name` last time, when `part` points into it (a part is
    /// re-pointed into what it was assembled in; a part translated again is a new allocation).
    fn holding(&self, name: &str, part: &Bytes) -> Option<Bytes> {
        let whole = self.0.get(name)?;
        let (start, end) = (
            whole.as_ptr() as usize,
            whole.as_ptr() as usize + whole.len(),
        );
        let at = part.as_ptr() as usize;
        (!part.is_empty() && at >= start && at + part.len() <= end).then(|| whole.clone())
    }
}

/// Points `part` at its copy inside `whole` (`range`), dropping its own allocation.
fn rebase(part: &mut Bytes, whole: &Bytes, range: Range<usize>) {
    debug_assert_eq!(&whole[range.clone()], &part[..]);
    *part = whole.slice(range);
}

/// What the listeners depend on besides the secure virtual hosts: the plain listener's name
/// and address, and the secure one's address.
type ListenerKey = (Option<(String, String, u16)>, Option<(String, u16)>);

/// Translates DAGs into resources, re-translating only what changed since the last call.
#[derive(Default)]
pub struct Translator {
    cfg: Option<TranslateConfig>,
    listener_key: Option<ListenerKey>,
    // Inputs are the DAG's shared hosts: an unchanged host (the same `Arc`, as the incremental
    // build hands it on) is recognised without comparing it.
    http_vhosts: Table<Arc<DagVirtualHost>, Option<EncodedVhost>>,
    https_vhosts: Table<Arc<SecureVirtualHost>, Option<EncodedVhost>>,
    chains: Table<Arc<SecureVirtualHost>, (ChainKey, Bytes)>,
    cluster_uses: Uses,
    cluster_names: Names,
    // Inputs are shared clusters: an unchanged host's are recognised by pointer.
    clusters: Table<(Arc<contour_dag::Cluster>, Option<ServicePolicy>), Bytes>,
    extension_clusters: Table<ExtensionCluster, Bytes>,
    // Inputs only: the encoded Secrets (TLS keys and certificates, ~6 MB at 2,000 hosts with TLS)
    // would be a second copy of what the xDS store holds. They are encoded again when the
    // Secrets change, a few milliseconds.
    secrets: Table<contour_dag::Secret, ()>,
    /// `ingress_http` and the `https/...` route configurations.
    assembled_routes: Assembled,
    /// For each plain route configuration (`ingress_http`, or each scope), the bytes of the
    /// hosts it was last assembled from (or kept with), in order. Held, so that the memory
    /// stays theirs: the same pointers next time are the same bytes.
    plain_parts: Vec<Vec<Bytes>>,
    /// `ingress_https`.
    assembled_listeners: Assembled,
}

type ChainKey = (bool, Vec<String>);

/// Which types changed in one translation.
struct Dirty {
    listeners: bool,
    routes: bool,
    clusters: bool,
    secrets: bool,
}

impl Translator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every resource but EDS, equal to [`crate::translate`]`(dag, cfg)`.
    pub fn translate(&mut self, dag: &Dag, cfg: &TranslateConfig) -> Resources {
        let mut out = Resources::default();
        self.run(dag, cfg, true).apply_to(&mut out);
        out
    }

    /// Like [`Self::translate`], but only the types that changed since the previous call: a
    /// route change assembles route configurations alone, and no unchanged type is copied.
    pub fn changes(&mut self, dag: &Dag, cfg: &TranslateConfig) -> Changes {
        self.run(dag, cfg, false)
    }

    fn run(&mut self, dag: &Dag, cfg: &TranslateConfig, all: bool) -> Changes {
        let cfg_changed = self.cfg.as_ref() != Some(cfg);
        if cfg_changed {
            *self = Translator {
                cfg: Some(cfg.clone()),
                ..Default::default()
            };
        }
        let listener_key = listener_key(dag);
        let listener_key_changed = self.listener_key.as_ref() != Some(&listener_key);
        self.listener_key = Some(listener_key);
        // Named once per shared cluster: a name is a hash of the cluster's policies.
        self.cluster_uses.update(dag);
        self.cluster_names.update(self.cluster_uses.iter());
        let names = std::mem::take(&mut self.cluster_names);
        let named = names.distinct();
        let served = self.cluster_uses.certificates(dag);
        let secrets = secret::referenced_secrets_named(dag, served, &names.tls());
        let dirty = self.update(dag, cfg, &named, &secrets);
        let any = |d: bool| all || cfg_changed || d;
        let changes = Changes {
            listeners: any(dirty.listeners || listener_key_changed)
                .then(|| self.listeners(dag, cfg)),
            routes: any(dirty.routes).then(|| self.routes(dag)),
            scoped_routes: any(false).then(|| {
                let scopes = scopes::scoped_route_configurations(cfg);
                scopes.iter().map(|s| (s.name.clone(), encode(s))).collect()
            }),
            clusters: any(dirty.clusters).then(|| self.cluster_map(dag, &named)),
            secrets: any(dirty.secrets).then(|| secret_map(cfg, &secrets)),
            runtimes: keyed_one(&runtime::runtime_for(dag, cfg)),
        };
        drop((named, secrets));
        self.cluster_names = names;
        changes
    }

    /// Brings every table up to date with `dag`, translating what changed.
    fn update(
        &mut self,
        dag: &Dag,
        cfg: &TranslateConfig,
        clusters: &[&Named],
        secrets: &BTreeMap<String, &contour_dag::Secret>,
    ) -> Dirty {
        let secure = secure_vhosts(dag).len();
        let opts = RouteOptions::for_config(cfg);
        self.http_vhosts.begin(plain_vhosts(dag).len());
        self.https_vhosts.begin(secure);
        self.chains.begin(secure);
        self.clusters.begin(clusters.len());
        self.extension_clusters.begin(dag.extension_clusters.len());
        self.secrets.begin(0);
        let plain: Vec<&Arc<DagVirtualHost>> = plain_vhosts(dag).iter().collect();
        self.http_vhosts.get_many(
            &plain,
            |vh| &vh.fqdn,
            |prev, vh| Arc::ptr_eq(prev, vh) || prev == *vh,
            |vh| (Arc::clone(vh), encode_vhost(vh, opts)),
        );
        self.chains.get_many(
            secure_vhosts(dag),
            |svh| svh.fqdn(),
            |prev, svh| Arc::ptr_eq(prev, svh) || prev == svh,
            |svh| {
                let chain = secure_filter_chain(svh, cfg);
                (Arc::clone(svh), (chain_key(&chain), encode(&chain)))
            },
        );
        let secure_hosts: Vec<&Arc<SecureVirtualHost>> = secure_vhosts(dag)
            .iter()
            .filter(|s| s.tcp_proxy.is_none())
            .collect();
        self.https_vhosts.get_many(
            &secure_hosts,
            |s| s.fqdn(),
            |prev, s| Arc::ptr_eq(prev, s) || prev.virtual_host == s.virtual_host,
            |s| (Arc::clone(s), encode_vhost(&s.virtual_host, opts)),
        );
        let services: HashMap<(&str, &str), &ServicePolicy> = dag
            .services
            .iter()
            .map(|((ns, name), p)| ((ns.as_str(), name.as_str()), p))
            .collect();
        let keyed: Vec<_> = clusters
            .iter()
            .map(|n| {
                let s = &n.cluster.service;
                (
                    *n,
                    services
                        .get(&(s.namespace.as_str(), s.name.as_str()))
                        .copied(),
                )
            })
            .collect();
        self.clusters.get_many(
            &keyed,
            |(n, _)| &n.name,
            |(pc, pp), (n, policy)| {
                (Arc::ptr_eq(pc, &n.cluster) || **pc == *n.cluster) && pp.as_ref() == *policy
            },
            |(n, policy)| {
                let c = &n.cluster;
                let mut out = cluster::cluster(c);
                cluster::apply_protocol(&mut out, c, cfg);
                cluster::apply_settings(&mut out, c, *policy, cfg);
                ((Arc::clone(c), policy.cloned()), encode(&out))
            },
        );
        for ext in dag.extension_clusters.values() {
            self.extension_clusters.get(
                &ext.name,
                |prev| prev == ext,
                || {
                    let out = cluster::extension::extension_cluster(ext, cfg);
                    (ext.clone(), encode(&out))
                },
            );
        }
        for (name, s) in secrets {
            self.secrets
                .get(name, |prev| prev == *s, || ((*s).clone(), ()));
        }
        let (plain, secure, chains) = (
            self.http_vhosts.end(),
            self.https_vhosts.end(),
            self.chains.end(),
        );
        // Both tables end (no short circuit): each forgets what it did not use.
        let (route_clusters, extension_clusters) =
            (self.clusters.end(), self.extension_clusters.end());
        Dirty {
            listeners: chains,
            // The fallback route configuration follows the chains' fallback certificates.
            routes: plain || secure || chains,
            clusters: route_clusters || extension_clusters,
            secrets: self.secrets.end(),
        }
    }

    fn routes(&mut self, dag: &Dag) -> Encoded {
        // First everything is assembled from the tables' parts, then the parts are re-pointed
        // into what was assembled (which needs the tables mutably).
        let mut plain = Vec::new();
        let mut secure = Vec::new();
        let mut out = BTreeMap::new();
        let mut next = HashMap::new();
        let done = &self.assembled_routes;
        // The tables' outputs in the order of their items: the hosts of `dag`.
        let http: Vec<(usize, &EncodedVhost)> = self
            .http_vhosts
            .outputs_at()
            .filter_map(|(at, vh)| vh.as_ref().map(|vh| (at, vh)))
            .collect();
        let scoped = self.cfg.as_ref().and_then(scopes::scopes);
        let configurations: Vec<(RouteConfiguration, Vec<(usize, &EncodedVhost)>)> = match scoped {
            None => {
                let shell = route::route_configuration(HTTP_LISTENER_NAME, Vec::new());
                vec![(shell, http)]
            }
            Some(n) => (0..n)
                .zip(scopes::split(http, |(_, vh)| &vh.domains, n))
                .map(|(k, hosts)| (route::scope_route_configuration(k, Vec::new()), hosts))
                .collect(),
        };
        let mut plain_slots = Vec::with_capacity(configurations.len());
        for (i, (shell, hosts)) in configurations.into_iter().enumerate() {
            plain_slots.push(hosts.iter().map(|(at, _)| *at).collect::<Vec<_>>());
            // The very bytes it was assembled from last time: the same configuration (with
            // scopes, a route change leaves all scopes but one like this).
            let held = self.plain_parts.get(i);
            if let Some(whole) = done.0.get(&shell.name)
                && held.is_some_and(|held| same_parts(held, &hosts))
            {
                next.insert(shell.name.clone(), whole.clone());
                out.insert(shell.name, whole.clone());
                continue;
            }
            // A host in every scope keeps its own bytes: re-pointed into one scope, it would
            // move whenever that scope changes, and the others would no longer see their parts.
            let shared: Vec<usize> = hosts
                .iter()
                .filter(|(_, vh)| scoped.is_some() && scopes::in_every_scope(&vh.domains))
                .map(|(at, _)| *at)
                .collect();
            let mut configuration = route_configuration(shell, hosts);
            configuration.2.retain(|(at, _)| !shared.contains(at));
            plain.push(configuration);
        }
        let mut fallback = Vec::new();
        let hosts = secure_vhosts(dag).iter().filter(|s| s.tcp_proxy.is_none());
        for (svh, (at, vh)) in hosts.zip(self.https_vhosts.outputs_at()) {
            let Some(vh) = vh else {
                continue;
            };
            if svh.fallback_certificate.is_some() {
                fallback.push((at, vh));
            }
            let name = https_route_config_name(svh.fqdn());
            // A host translated before still points into the configuration assembled around
            // it last time, which is then the same: kept without encoding it again.
            if let Some(whole) = done.holding(&name, &vh.bytes) {
                next.insert(name.clone(), whole.clone());
                out.insert(name, whole);
                continue;
            }
            let shell = route::route_configuration(&name, Vec::new());
            secure.push(route_configuration(shell, vec![(at, vh)]));
        }
        // The fallback configuration holds copies of hosts that have their own: not re-pointed.
        let fallback = (!fallback.is_empty()).then(|| {
            let shell = route::route_configuration(FALLBACK_CERT_ROUTE_CONFIG_NAME, Vec::new());
            route_configuration(shell, fallback)
        });
        place(done, &mut next, &mut out, plain, &mut self.http_vhosts);
        place(done, &mut next, &mut out, secure, &mut self.https_vhosts);
        if let Some((name, bytes, _)) = fallback {
            out.insert(name.clone(), done.keep(&mut next, &name, bytes));
        }
        self.assembled_routes = Assembled(next);
        let table = &self.http_vhosts;
        self.plain_parts = plain_slots
            .iter()
            .map(|slots| {
                let hosts = slots.iter().filter_map(|at| table.output_in(*at)?.as_ref());
                hosts.map(|vh| vh.bytes.clone()).collect()
            })
            .collect();
        out
    }

    fn listeners(&mut self, dag: &Dag, cfg: &TranslateConfig) -> Encoded {
        let mut out = BTreeMap::new();
        if let Some(l) = dag.listeners.get(HTTP_LISTENER_NAME)
            && !l.virtual_hosts.is_empty()
        {
            let listener = http_listener(&l.name, &l.address, l.port, cfg);
            out.insert(listener.name.clone(), encode(&listener));
        }
        let mut next = HashMap::new();
        if let Some(l) = dag.listeners.get(HTTPS_LISTENER_NAME)
            && !l.secure_virtual_hosts.is_empty()
        {
            let (bytes, ranges) = self.https_listener(l, cfg);
            let whole = self
                .assembled_listeners
                .keep(&mut next, HTTPS_LISTENER_NAME, bytes);
            for (at, range) in ranges {
                if let Some((_, chain)) = self.chains.output_at_mut(at) {
                    rebase(chain, &whole, range);
                }
            }
            out.insert(HTTPS_LISTENER_NAME.to_string(), whole);
        }
        self.assembled_listeners = Assembled(next);
        for l in stats::static_listeners(cfg) {
            out.insert(l.name.clone(), encode(&l));
        }
        out
    }

    /// `ingress_https` from the remembered chains, with where each chain (by slot) is in it.
    fn https_listener(
        &self,
        l: &contour_dag::Listener,
        cfg: &TranslateConfig,
    ) -> (Vec<u8>, Placed) {
        let fallback = https_fallback_chain(l, cfg).map(|c| (chain_key(&c), encode(&c)));
        let mut chains: Vec<(Option<usize>, &(ChainKey, Bytes))> = l
            .secure_virtual_hosts
            .iter()
            .filter_map(|svh| self.chains.output_at(svh.fqdn()))
            .map(|(at, chain)| (Some(at), chain))
            .chain(fallback.as_ref().map(|c| (None, c)))
            .collect();
        // The order of `https_listener`: a stable sort on the same keys.
        chains.sort_by(|a, b| a.1.0.cmp(&b.1.0));
        let mut shell = https_listener_shell(l);
        apply_ingress_settings(&mut shell, cfg);
        let head = Listener {
            name: shell.name.clone(),
            address: shell.address.clone(),
            ..Default::default()
        };
        let items: Vec<&[u8]> = chains.iter().map(|c| &c.1.1[..]).collect();
        let (bytes, ranges) = encode_with(&head, &shell, FILTER_CHAINS_TAG, &items);
        let slots = chains.iter().map(|c| c.0);
        let ranges = slots
            .zip(ranges)
            .filter_map(|(at, range)| Some((at?, range)))
            .collect();
        (bytes, ranges)
    }

    fn cluster_map(&self, dag: &Dag, clusters: &[&Named]) -> Encoded {
        let mut out = BTreeMap::new();
        for name in dag.extension_clusters.keys() {
            if let Some(bytes) = self.extension_clusters.output(name) {
                out.insert(name.clone(), bytes.clone());
            }
        }
        for Named { name, .. } in clusters {
            if !out.contains_key(name)
                && let Some(bytes) = self.clusters.output(name)
            {
                out.insert(name.clone(), bytes.clone());
            }
        }
        out
    }
}

/// The SDS resources: the referenced TLS Secrets, then the stats listener's.
fn secret_map(cfg: &TranslateConfig, secrets: &BTreeMap<String, &contour_dag::Secret>) -> Encoded {
    let mut out = BTreeMap::new();
    for (name, s) in secrets {
        // Encoded by the cache on the way in (same name, same bytes), or here.
        let bytes = match &s.served {
            Some(served) => served.clone(),
            None => encode(&secret::tls_secret(name.clone(), s)),
        };
        out.insert(name.clone(), bytes);
    }
    for s in stats::stats_secrets(cfg) {
        out.insert(s.name.clone(), encode(&s));
    }
    out
}

fn plain_vhosts(dag: &Dag) -> &[Arc<DagVirtualHost>] {
    dag.listeners
        .get(HTTP_LISTENER_NAME)
        .map(|l| l.virtual_hosts.as_slice())
        .unwrap_or_default()
}

fn secure_vhosts(dag: &Dag) -> &[Arc<SecureVirtualHost>] {
    dag.listeners
        .get(HTTPS_LISTENER_NAME)
        .map(|l| l.secure_virtual_hosts.as_slice())
        .unwrap_or_default()
}

fn listener_key(dag: &Dag) -> ListenerKey {
    let http = dag
        .listeners
        .get(HTTP_LISTENER_NAME)
        .filter(|l| !l.virtual_hosts.is_empty())
        .map(|l| (l.name.clone(), l.address.clone(), l.port));
    let https = dag
        .listeners
        .get(HTTPS_LISTENER_NAME)
        .filter(|l| !l.secure_virtual_hosts.is_empty())
        .map(|l| (l.address.clone(), l.port));
    (http, https)
}

/// One virtual host, translated and encoded (`None`: a host Envoy does not get).
fn encode_vhost(vh: &DagVirtualHost, opts: RouteOptions) -> Option<EncodedVhost> {
    route::virtual_host(vh, opts).map(|v| EncodedVhost {
        bytes: encode(&v),
        name: v.name,
        domains: v.domains,
    })
}

/// Whether `hosts` are exactly the bytes `held` (the same memory, which `held` keeps alive: no
/// other bytes can be there).
fn same_parts(held: &[Bytes], hosts: &[(usize, &EncodedVhost)]) -> bool {
    held.len() == hosts.len()
        && held
            .iter()
            .zip(hosts)
            .all(|(h, (_, vh))| h.as_ptr() == vh.bytes.as_ptr() && h.len() == vh.bytes.len())
}

/// Where each part (by table slot) is in what it was assembled into.
type Placed = Vec<(usize, Range<usize>)>;

/// One route configuration assembled by [`route_configuration`]: its name, its encoding, and
/// where its hosts are in it.
type Configuration = (String, Vec<u8>, Placed);

/// Adds `configurations` to `out`, and points the hosts of `table` they hold into them.
fn place<I>(
    done: &Assembled,
    next: &mut HashMap<String, Bytes>,
    out: &mut Encoded,
    configurations: Vec<Configuration>,
    table: &mut Table<I, Option<EncodedVhost>>,
) {
    for (name, bytes, ranges) in configurations {
        let whole = done.keep(next, &name, bytes);
        for (at, range) in ranges {
            if let Some(Some(vh)) = table.output_at_mut(at) {
                rebase(&mut vh.bytes, &whole, range);
            }
        }
        out.insert(name, whole);
    }
}

/// `shell` (a route configuration without virtual hosts) with encoded virtual hosts (each
/// with its table slot), sorted as [`route::route_configuration`] sorts them: its name, its
/// encoding, and where each host (by slot) is in it.
fn route_configuration(
    shell: RouteConfiguration,
    mut vhosts: Vec<(usize, &EncodedVhost)>,
) -> Configuration {
    vhosts.sort_by(|(_, a), (_, b)| a.name.cmp(&b.name).then_with(|| a.domains.cmp(&b.domains)));
    let head = RouteConfiguration {
        name: shell.name.clone(),
        ..Default::default()
    };
    let items: Vec<&[u8]> = vhosts.iter().map(|(_, v)| &v.bytes[..]).collect();
    let (bytes, ranges) = encode_with(&head, &shell, VIRTUAL_HOSTS_TAG, &items);
    let slots = vhosts.iter().map(|(at, _)| *at);
    (shell.name, bytes, slots.zip(ranges).collect())
}

fn keyed_one(r: &Runtime) -> Encoded {
    BTreeMap::from([(r.name.clone(), encode(r))])
}

#[cfg(test)]
mod tests;
