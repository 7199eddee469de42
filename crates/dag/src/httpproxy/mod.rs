//! HTTPProxy → routes, following the include tree from each root.
//!
//! Order of work: roots are grouped by FQDN (a duplicate FQDN invalidates every proxy using it),
//! each valid root's tree is walked depth-first with conditions accumulating down the chain, and
//! proxies never reached from a root are reported orphaned.

mod conditions;
mod cookie_rewrite;
pub mod envoy_vars;
pub mod vhost_policies;
mod walk;

use std::collections::{BTreeMap, BTreeSet};

use contour_api::v1::HTTPProxy;

use crate::builder::{BuildConfig, DagBuilder};
use crate::cache::Cache;
use crate::status::{ORPHANED_MESSAGE, ProxyKey, StatusSet, error_type};

pub use conditions::merge_path;

fn key_of(p: &HTTPProxy) -> ProxyKey {
    (
        p.metadata.namespace.clone().unwrap_or_default(),
        p.metadata.name.clone().unwrap_or_default(),
    )
}

pub fn process(cache: &Cache, cfg: &BuildConfig, builder: &mut DagBuilder, status: &mut StatusSet) {
    let mut reached: BTreeSet<ProxyKey> = BTreeSet::new();
    for (fqdn, roots) in valid_roots(cache, cfg, status) {
        if roots.len() > 1 {
            report_duplicates(&fqdn, &roots, status);
            continue;
        }
        let root = roots[0];
        let key = key_of(root);
        let Some(vh) = &root.spec.virtualhost else {
            continue;
        };
        // Upstream rejects a root with both IP lists before following its includes.
        if let Some(e) = vhost_policies::vhost_ip_filters_conflict(vh) {
            status.error(&key, e.type_, e.reason, e.message);
            continue;
        }
        let (policies, errors) = vhost_policies::vhost_policies(vh);
        let mut walk = walk::Walk::new(cache, &fqdn, builder, status, &mut reached);
        if policies.is_err() {
            walk.suppress_all();
        }
        walk.visit_root(root);
        // Reported after the routes' errors, as upstream checks host policies last.
        for e in errors {
            status.error(&key, e.type_, e.reason, e.message);
        }
        if let Ok(p) = policies {
            builder.set_http_vhost_policies(&fqdn, p);
        }
    }
    for proxy in cache.proxies.values() {
        let key = key_of(proxy);
        if proxy.spec.virtualhost.is_some() || reached.contains(&key) {
            continue;
        }
        status.touch(&key, proxy.metadata.generation, None);
        status.error(&key, error_type::ORPHANED, "Orphaned", ORPHANED_MESSAGE);
    }
}

/// Roots that may serve, grouped by lower-cased FQDN. Roots rejected here get their status.
fn valid_roots<'a>(
    cache: &'a Cache,
    cfg: &BuildConfig,
    status: &mut StatusSet,
) -> BTreeMap<String, Vec<&'a HTTPProxy>> {
    let mut by_fqdn: BTreeMap<String, Vec<&HTTPProxy>> = BTreeMap::new();
    for proxy in cache.proxies.values() {
        let Some(vhost) = &proxy.spec.virtualhost else {
            continue;
        };
        let key = key_of(proxy);
        let fqdn = vhost.fqdn.to_ascii_lowercase();
        status.touch(&key, proxy.metadata.generation, Some(&fqdn));
        if !cfg.root_namespaces.is_empty() && !cfg.root_namespaces.contains(&key.0) {
            status.error(
                &key,
                error_type::ROOT_NAMESPACE,
                "RootProxyNotAllowedInNamespace",
                "root HTTPProxy cannot be defined in this namespace",
            );
            continue;
        }
        if fqdn.is_empty() {
            status.error(
                &key,
                error_type::VIRTUAL_HOST,
                "FQDNNotSpecified",
                "Spec.VirtualHost.Fqdn must be specified",
            );
            continue;
        }
        by_fqdn.entry(fqdn).or_default().push(proxy);
    }
    by_fqdn
}

fn report_duplicates(fqdn: &str, roots: &[&HTTPProxy], status: &mut StatusSet) {
    let names: Vec<String> = roots
        .iter()
        .map(|p| {
            let (ns, name) = key_of(p);
            format!("{ns}/{name}")
        })
        .collect();
    let message = format!(
        "fqdn \"{fqdn}\" is used in multiple HTTPProxies: {}",
        names.join(", ")
    );
    for p in roots {
        status.error(
            &key_of(p),
            error_type::VIRTUAL_HOST,
            "DuplicateVhost",
            message.clone(),
        );
    }
}

#[cfg(test)]
mod tests;
