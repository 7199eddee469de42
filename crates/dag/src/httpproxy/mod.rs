//! HTTPProxy → routes, following the include tree from each root.
//!
//! Order of work: roots are grouped by FQDN (a duplicate FQDN invalidates every proxy using it),
//! each valid root's tree is walked depth-first with conditions accumulating down the chain, and
//! proxies never reached from a root are reported orphaned.

mod conditions;
pub mod policies;
mod prefix_expand;
mod route_services;
mod routes;
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
    for (fqdn, roots) in roots_by_fqdn(cache, status) {
        if roots.len() > 1 {
            report_duplicates(&fqdn, &roots, status);
            continue;
        }
        let root = roots[0];
        if !root_allowed(root, cfg, status) {
            continue;
        }
        let written = root
            .spec
            .virtualhost
            .as_ref()
            .map(|v| v.fqdn.clone())
            .unwrap_or_default();
        let mut walk = walk::Walk::new(cache, &written, status, &mut reached);
        for route in walk.routes(root, &[]) {
            builder.add_http_route(&fqdn, route);
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

/// Every root, grouped by lower-cased FQDN (a duplicate FQDN invalidates all its roots).
fn roots_by_fqdn<'a>(
    cache: &'a Cache,
    status: &mut StatusSet,
) -> BTreeMap<String, Vec<&'a HTTPProxy>> {
    let mut by_fqdn: BTreeMap<String, Vec<&HTTPProxy>> = BTreeMap::new();
    for proxy in cache.proxies.values() {
        let Some(vhost) = &proxy.spec.virtualhost else {
            continue;
        };
        let fqdn = vhost.fqdn.to_ascii_lowercase();
        status.touch(&key_of(proxy), proxy.metadata.generation, Some(&fqdn));
        by_fqdn.entry(fqdn).or_default().push(proxy);
    }
    by_fqdn
}

/// Upstream's checks on a root before its routes are computed, in upstream's order.
fn root_allowed(proxy: &HTTPProxy, cfg: &BuildConfig, status: &mut StatusSet) -> bool {
    let key = key_of(proxy);
    let fqdn = proxy.spec.virtualhost.as_ref().map(|v| v.fqdn.as_str());
    let (type_, reason, message) = if fqdn.unwrap_or_default().trim().is_empty() {
        (
            error_type::VIRTUAL_HOST,
            "FQDNNotSpecified",
            "Spec.VirtualHost.Fqdn must be specified",
        )
    } else if !cfg.root_namespaces.is_empty() && !cfg.root_namespaces.contains(&key.0) {
        (
            error_type::ROOT_NAMESPACE,
            "RootProxyNotAllowedInNamespace",
            "root HTTPProxy cannot be defined in this namespace",
        )
    } else if proxy.spec.routes.is_empty()
        && proxy.spec.includes.is_empty()
        && proxy.spec.tcpproxy.is_none()
    {
        (
            error_type::SPEC,
            "NothingDefined",
            "HTTPProxy.Spec must have at least one Route, Include, or a TCPProxy",
        )
    } else {
        return true;
    };
    status.error(&key, type_, reason, message);
    false
}

/// Why `re` is not a valid (RE2-compatible) regular expression, if it is not.
pub(crate) fn regex_error(re: &str) -> Result<(), String> {
    regex::Regex::new(re).map(|_| ()).map_err(|e| match e {
        regex::Error::Syntax(s) => s.lines().last().unwrap_or_default().trim().to_string(),
        other => other.to_string(),
    })
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
