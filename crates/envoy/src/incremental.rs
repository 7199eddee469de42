//! Incremental translation: [`Translator`] remembers, per virtual host, secure virtual host,
//! cluster and certificate, the DAG input it last translated and the encoded result, and
//! re-translates only inputs that changed. Large resources are assembled from cached parts
//! ([`crate::splice`]): `ingress_http` from its encoded virtual hosts, `ingress_https` from its
//! encoded filter chains. The output is byte-identical to [`crate::translate`] (tested over
//! sequences of edits), so a one-route change costs one virtual host's translation plus copying
//! bytes, whatever the cluster's size.

use std::collections::{BTreeMap, HashMap};

use contour_dag::{Dag, SecureVirtualHost, ServicePolicy, VirtualHost as DagVirtualHost};
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use envoy_types::pb::google::protobuf::Any;
use prost::{Message, Name};

use crate::config::TranslateConfig;
use crate::listener::{
    apply_ingress_settings, chain_key, http_listener, https_fallback_chain, https_listener_shell,
    secure_filter_chain,
};
use crate::names::{
    FALLBACK_CERT_ROUTE_CONFIG_NAME, HTTP_LISTENER_NAME, HTTPS_LISTENER_NAME, cluster_name,
    https_route_config_name,
};
use crate::splice::encode_with;
use crate::{Resources, cluster, route, runtime, secret, stats, to_any};

/// `RouteConfiguration.virtual_hosts` and `Listener.filter_chains`.
const VIRTUAL_HOSTS_TAG: u32 = 2;
const FILTER_CHAINS_TAG: u32 = 3;

/// A translation input and what it gave.
struct Memo<I, O> {
    input: I,
    output: O,
}

/// Entries by key; each translation moves the entries it still uses into a fresh table, so
/// entries of removed objects are dropped.
struct Table<I, O> {
    prev: HashMap<String, Memo<I, O>>,
    next: HashMap<String, Memo<I, O>>,
}

impl<I, O> Default for Table<I, O> {
    fn default() -> Self {
        Table {
            prev: HashMap::new(),
            next: HashMap::new(),
        }
    }
}

impl<I, O> Table<I, O> {
    /// The output for `key`: the remembered one when `same` says the input did not change,
    /// otherwise `make`'s. The first use of a key in one translation wins.
    fn get(
        &mut self,
        key: &str,
        same: impl FnOnce(&I) -> bool,
        make: impl FnOnce() -> (I, O),
    ) -> &O {
        if !self.next.contains_key(key) {
            let memo = match self.prev.remove(key) {
                Some(m) if same(&m.input) => m,
                _ => {
                    let (input, output) = make();
                    Memo { input, output }
                }
            };
            self.next.insert(key.to_string(), memo);
        }
        &self.next[key].output
    }

    /// Ends one translation: what was not used is forgotten.
    fn finish(&mut self) {
        self.prev = std::mem::take(&mut self.next);
    }

    fn clear(&mut self) {
        self.prev.clear();
        self.next.clear();
    }
}

/// An encoded Envoy virtual host with what route configurations sort it by.
struct EncodedVhost {
    name: String,
    domains: Vec<String>,
    bytes: Vec<u8>,
}

/// Translates DAGs into resources, re-translating only what changed since the last call.
#[derive(Default)]
pub struct Translator {
    cfg: Option<TranslateConfig>,
    http_vhosts: Table<DagVirtualHost, Option<EncodedVhost>>,
    https_vhosts: Table<DagVirtualHost, Option<EncodedVhost>>,
    chains: Table<SecureVirtualHost, (ChainKey, Vec<u8>)>,
    clusters: Table<(contour_dag::Cluster, Option<ServicePolicy>), Any>,
    secrets: Table<contour_dag::Secret, Any>,
}

type ChainKey = (bool, Vec<String>);

impl Translator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every resource but EDS, equal to [`crate::translate`]`(dag, cfg)`.
    pub fn translate(&mut self, dag: &Dag, cfg: &TranslateConfig) -> Resources {
        if self.cfg.as_ref() != Some(cfg) {
            self.clear();
            self.cfg = Some(cfg.clone());
        }
        let out = Resources {
            listeners: self.listeners(dag, cfg),
            routes: self.routes(dag),
            clusters: self.clusters(dag, cfg),
            secrets: self.secrets(dag, cfg),
            runtimes: keyed_one(&runtime::runtime_for(dag, cfg)),
        };
        self.http_vhosts.finish();
        self.https_vhosts.finish();
        self.chains.finish();
        self.clusters.finish();
        self.secrets.finish();
        out
    }

    fn clear(&mut self) {
        self.http_vhosts.clear();
        self.https_vhosts.clear();
        self.chains.clear();
        self.clusters.clear();
        self.secrets.clear();
    }

    fn routes(&mut self, dag: &Dag) -> BTreeMap<String, Any> {
        let mut out = BTreeMap::new();
        let plain = dag
            .listeners
            .get(HTTP_LISTENER_NAME)
            .map(|l| l.virtual_hosts.as_slice())
            .unwrap_or_default();
        for vh in plain {
            vhost(&mut self.http_vhosts, vh);
        }
        let http: Vec<&EncodedVhost> = plain
            .iter()
            .filter_map(|vh| self.http_vhosts.next[&vh.fqdn].output.as_ref())
            .collect();
        out.insert(
            HTTP_LISTENER_NAME.to_string(),
            route_configuration(HTTP_LISTENER_NAME, http),
        );
        let secure = dag
            .listeners
            .get(HTTPS_LISTENER_NAME)
            .map(|l| l.secure_virtual_hosts.as_slice())
            .unwrap_or_default();
        let secure: Vec<&SecureVirtualHost> =
            secure.iter().filter(|s| s.tcp_proxy.is_none()).collect();
        for svh in &secure {
            vhost(&mut self.https_vhosts, &svh.virtual_host);
        }
        let mut fallback = Vec::new();
        for svh in secure {
            let table = &self.https_vhosts.next;
            let Some(vh) = table[&svh.virtual_host.fqdn].output.as_ref() else {
                continue;
            };
            if svh.fallback_certificate.is_some() {
                fallback.push(vh);
            }
            let name = https_route_config_name(svh.fqdn());
            let rc = route_configuration(&name, vec![vh]);
            out.insert(name, rc);
        }
        if !fallback.is_empty() {
            let name = FALLBACK_CERT_ROUTE_CONFIG_NAME;
            out.insert(name.to_string(), route_configuration(name, fallback));
        }
        out
    }

    fn listeners(&mut self, dag: &Dag, cfg: &TranslateConfig) -> BTreeMap<String, Any> {
        let mut out = BTreeMap::new();
        if let Some(l) = dag.listeners.get(HTTP_LISTENER_NAME)
            && !l.virtual_hosts.is_empty()
        {
            let listener = http_listener(&l.name, &l.address, l.port, cfg);
            out.insert(listener.name.clone(), to_any(&listener));
        }
        if let Some(l) = dag.listeners.get(HTTPS_LISTENER_NAME)
            && !l.secure_virtual_hosts.is_empty()
        {
            out.insert(HTTPS_LISTENER_NAME.to_string(), self.https_listener(l, cfg));
        }
        for l in stats::static_listeners(cfg) {
            out.insert(l.name.clone(), to_any(&l));
        }
        out
    }

    fn https_listener(&mut self, l: &contour_dag::Listener, cfg: &TranslateConfig) -> Any {
        for svh in &l.secure_virtual_hosts {
            self.chains.get(
                svh.fqdn(),
                |prev| prev == svh,
                || {
                    let chain = secure_filter_chain(svh, cfg);
                    (svh.clone(), (chain_key(&chain), chain.encode_to_vec()))
                },
            );
        }
        let fallback = https_fallback_chain(l, cfg).map(|c| (chain_key(&c), c.encode_to_vec()));
        let mut chains: Vec<&(ChainKey, Vec<u8>)> = l
            .secure_virtual_hosts
            .iter()
            .map(|svh| &self.chains.next[svh.fqdn()].output)
            .chain(fallback.as_ref())
            .collect();
        // The order of `https_listener`: a stable sort on the same keys.
        chains.sort_by(|a, b| a.0.cmp(&b.0));
        let mut shell = https_listener_shell(l);
        apply_ingress_settings(&mut shell, cfg);
        let head = Listener {
            name: shell.name.clone(),
            address: shell.address.clone(),
            ..Default::default()
        };
        let items: Vec<&[u8]> = chains.iter().map(|c| c.1.as_slice()).collect();
        Any {
            type_url: Listener::type_url(),
            value: encode_with(&head, &shell, FILTER_CHAINS_TAG, &items),
        }
    }

    fn clusters(&mut self, dag: &Dag, cfg: &TranslateConfig) -> BTreeMap<String, Any> {
        let mut out = BTreeMap::new();
        for c in dag.clusters() {
            let name = cluster_name(c);
            if out.contains_key(&name) {
                continue;
            }
            let key = (c.service.namespace.clone(), c.service.name.clone());
            let policy = dag.services.get(&key);
            let any = self.clusters.get(
                &name,
                |(pc, pp)| pc == c && pp.as_ref() == policy,
                || {
                    let mut out = cluster::cluster(c);
                    cluster::apply_protocol(&mut out, c, cfg);
                    cluster::apply_settings(&mut out, c, policy, cfg);
                    ((c.clone(), policy.cloned()), to_any(&out))
                },
            );
            out.insert(name, any.clone());
        }
        out
    }

    fn secrets(&mut self, dag: &Dag, cfg: &TranslateConfig) -> BTreeMap<String, Any> {
        let mut out = BTreeMap::new();
        for (name, s) in secret::referenced_secrets(dag) {
            let any = self.secrets.get(
                &name,
                |prev| prev == s,
                || (s.clone(), to_any(&secret::tls_secret(name.clone(), s))),
            );
            out.insert(name, any.clone());
        }
        for s in stats::stats_secrets(cfg) {
            out.insert(s.name.clone(), to_any(&s));
        }
        out
    }
}

/// Translates (or reuses) one virtual host into `table`, keyed by its fqdn.
fn vhost(table: &mut Table<DagVirtualHost, Option<EncodedVhost>>, vh: &DagVirtualHost) {
    table.get(
        &vh.fqdn,
        |prev| prev == vh,
        || {
            let encoded = route::virtual_host(vh).map(|v| EncodedVhost {
                bytes: v.encode_to_vec(),
                name: v.name,
                domains: v.domains,
            });
            (vh.clone(), encoded)
        },
    );
}

/// [`route::route_configuration`] from encoded virtual hosts, sorted the same way.
fn route_configuration(name: &str, mut vhosts: Vec<&EncodedVhost>) -> Any {
    vhosts.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.domains.cmp(&b.domains)));
    let shell = route::route_configuration(name, Vec::new());
    let head = RouteConfiguration {
        name: shell.name.clone(),
        ..Default::default()
    };
    let items: Vec<&[u8]> = vhosts.iter().map(|v| v.bytes.as_slice()).collect();
    Any {
        type_url: RouteConfiguration::type_url(),
        value: encode_with(&head, &shell, VIRTUAL_HOSTS_TAG, &items),
    }
}

fn keyed_one(r: &envoy_types::pb::envoy::service::runtime::v3::Runtime) -> BTreeMap<String, Any> {
    BTreeMap::from([(r.name.clone(), to_any(r))])
}

#[cfg(test)]
mod tests;
