//! HTTPProxy → routes, following the include tree from each root.
//!
//! Order of work: roots are grouped by FQDN (a duplicate FQDN invalidates every proxy using it),
//! each valid root's tree is walked depth-first with conditions accumulating down the chain, and
//! proxies never reached from a root are reported orphaned.

mod conditions;
mod cookie_rewrite;
pub mod envoy_vars;
pub mod policies;
mod prefix_expand;
mod route_services;
mod routes;
mod tcpproxy;
mod tls;
pub mod vhost_policies;
mod walk;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use crate::cache::CachedProxy;

use crate::builder::{BuildConfig, DagBuilder};
use crate::cache::Cache;
use crate::status::{ORPHANED_MESSAGE, ProxyKey, StatusSet, error_type};

pub use conditions::merge_path;

pub(crate) fn key_of(p: &CachedProxy) -> ProxyKey {
    (
        p.metadata.namespace.clone().unwrap_or_default(),
        p.metadata.name.clone().unwrap_or_default(),
    )
}

/// The roots of one FQDN, each with its cache key.
pub(crate) type Roots<'a> = Vec<(&'a ProxyKey, &'a CachedProxy)>;

pub fn process(cache: &Cache, cfg: &BuildConfig, builder: &mut DagBuilder, status: &mut StatusSet) {
    let mut reached: BTreeSet<ProxyKey> = BTreeSet::new();
    for (fqdn, roots) in roots_by_fqdn(cache, status) {
        if roots.len() > 1 {
            report_duplicates(&fqdn, &roots, status);
            continue;
        }
        process_root(cache, cfg, roots[0].1, &fqdn, builder, status, &mut reached);
    }
    report_orphans(cache, &reached, status);
}

/// The routes, TLS and host policies of the only root of `fqdn` (lower-cased), and the
/// statuses of the proxies its tree reaches.
pub(crate) fn process_root(
    cache: &Cache,
    cfg: &BuildConfig,
    root: &CachedProxy,
    fqdn: &str,
    builder: &mut DagBuilder,
    status: &mut StatusSet,
    reached: &mut BTreeSet<ProxyKey>,
) {
    let key = key_of(root);
    let Some(vh) = &root.spec.virtualhost else {
        return;
    };
    if !root_allowed(root, cfg, status) {
        return;
    }
    // Upstream rejects a root with both IP lists before its TLS and its includes.
    if let Some(e) = vhost_policies::vhost_ip_filters_conflict(vh) {
        status.error(&key, e.type_, e.reason, e.message);
        return;
    }
    if !secure_root(cache, cfg, root, fqdn, builder, status, reached) {
        return;
    }
    let (policies, errors) = vhost_policies::vhost_policies(vh);
    let mut walk = walk::Walk::new(cache, cfg, &vh.fqdn, status, reached);
    let routes = walk.routes(root, &[]);
    // Reported after the routes' errors, as upstream checks host policies last.
    for e in errors {
        status.error(&key, e.type_, e.reason, e.message);
    }
    // An invalid host policy: the routes were computed (and their statuses reported) but
    // nothing is served.
    let Ok(p) = policies else { return };
    builder.set_vhost_policies(fqdn, p);
    for route in routes {
        let permit_insecure = route.policy.permit_insecure;
        builder.add_proxy_route(fqdn, route, permit_insecure);
    }
}

/// Proxies that are not roots and that no root's tree reached are orphaned.
pub(crate) fn report_orphans(cache: &Cache, reached: &BTreeSet<ProxyKey>, status: &mut StatusSet) {
    // By key, without copying the names of the (many) roots.
    for ((ns, name), proxy) in &cache.proxies {
        if proxy.spec.virtualhost.is_some() {
            continue;
        }
        let key = (ns.clone(), name.clone());
        if reached.contains(&key) {
            continue;
        }
        status.touch(&key, proxy.metadata.generation, None);
        status.error(&key, error_type::ORPHANED, "Orphaned", ORPHANED_MESSAGE);
    }
}

/// Sets up the TLS side of a root before its routes are walked: the secure virtual host (with
/// its certificate, client validation or TCP proxy) and how routes are placed. Returns false
/// when the root is invalid and must serve nothing.
fn secure_root(
    cache: &Cache,
    cfg: &BuildConfig,
    root: &CachedProxy,
    fqdn: &str,
    builder: &mut DagBuilder,
    status: &mut StatusSet,
    reached: &mut BTreeSet<ProxyKey>,
) -> bool {
    let key = key_of(root);
    let mut errors = Vec::new();
    let outcome = tls::root_tls(cache, cfg, root, fqdn, &mut errors);
    for (reason, message) in errors {
        status.error(&key, tls::TLS_ERROR_TYPE, reason, message);
    }
    let Ok(root_tls) = outcome else {
        return false;
    };
    let tcp = match (&root_tls, &root.spec.tcpproxy) {
        (_, None) => None,
        (tls::RootTls::None, Some(_)) => {
            status.error(
                &key,
                error_type::TCP_PROXY,
                "TLSMustBeConfigured",
                "Spec.TCPProxy requires that either Spec.TLS.Passthrough or Spec.TLS.SecretName be set",
            );
            return false;
        }
        (_, Some(_)) => {
            let mut walk = tcpproxy::TcpWalk {
                cache,
                cfg,
                status,
                reached,
                fqdn,
            };
            match walk.resolve(root, &mut Vec::new()) {
                Some(t) => Some(t),
                None => return false,
            }
        }
    };
    let secure_routes = matches!(root_tls, tls::RootTls::Terminate(_)) && tcp.is_none();
    match root_tls {
        tls::RootTls::None => return true,
        tls::RootTls::Terminate(svh) => *builder.secure_vhost(fqdn) = *svh,
        tls::RootTls::Passthrough => {
            builder.secure_vhost(fqdn);
        }
    }
    builder.secure_vhost(fqdn).tcp_proxy = tcp;
    builder.set_proxy_tls(fqdn, crate::builder::ProxyTls { secure_routes });
    true
}

/// Every root, grouped by lower-cased FQDN (a duplicate FQDN invalidates all its roots).
pub(crate) fn roots_by_fqdn<'a>(
    cache: &'a Cache,
    status: &mut StatusSet,
) -> BTreeMap<Cow<'a, str>, Roots<'a>> {
    let mut by_fqdn: BTreeMap<Cow<'a, str>, Roots<'a>> = BTreeMap::new();
    status.reserve(cache.proxies.len());
    for (key, proxy) in &cache.proxies {
        let Some(vhost) = &proxy.spec.virtualhost else {
            continue;
        };
        // Borrowed unless it has upper-case letters: this runs for every root on every build.
        let fqdn = if vhost.fqdn.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(vhost.fqdn.to_ascii_lowercase())
        } else {
            Cow::Borrowed(vhost.fqdn.as_str())
        };
        status.touch(key, proxy.metadata.generation, Some(&fqdn));
        by_fqdn.entry(fqdn).or_default().push((key, &**proxy));
    }
    by_fqdn
}

/// Upstream's checks on a root before its routes are computed, in upstream's order.
fn root_allowed(proxy: &CachedProxy, cfg: &BuildConfig, status: &mut StatusSet) -> bool {
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

pub(crate) fn report_duplicates(
    fqdn: &str,
    roots: &[(&ProxyKey, &CachedProxy)],
    status: &mut StatusSet,
) {
    let names: Vec<String> = roots
        .iter()
        .map(|((ns, name), _)| format!("{ns}/{name}"))
        .collect();
    let message = format!(
        "fqdn \"{fqdn}\" is used in multiple HTTPProxies: {}",
        names.join(", ")
    );
    for (key, _) in roots {
        status.error(
            key,
            error_type::VIRTUAL_HOST,
            "DuplicateVhost",
            message.clone(),
        );
    }
}

#[cfg(test)]
mod route_status_tests;
#[cfg(test)]
mod tests;
