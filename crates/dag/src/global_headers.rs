//! contour.yaml `policy.request-headers` / `response-headers`: merged into every HTTPProxy
//! service's header policy (and every Ingress backend's with `applyToIngress`), the service's
//! own values winning, as upstream's `headersPolicyService`. Runs after the processors.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::httpproxy::envoy_vars::{canonical_header_key, escape_header_value};
use crate::model::{Dag, RouteAction, VirtualHost, WeightedCluster};
use crate::policy::HeadersPolicy;

/// The global header settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GlobalHeaders {
    pub request_set: BTreeMap<String, String>,
    pub request_remove: Vec<String>,
    pub response_set: BTreeMap<String, String>,
    pub response_remove: Vec<String>,
    pub apply_to_ingress: bool,
}

impl GlobalHeaders {
    pub fn is_empty(&self) -> bool {
        self.request_set.is_empty()
            && self.request_remove.is_empty()
            && self.response_set.is_empty()
            && self.response_remove.is_empty()
    }
}

/// Applies `global` to every forwarded service of routes from HTTPProxies (and Ingresses when
/// `applyToIngress`).
pub fn apply(global: &GlobalHeaders, dag: &mut Dag) {
    if global.is_empty() {
        return;
    }
    for listener in dag.listeners.values_mut() {
        for vhost in listener.virtual_hosts.iter_mut() {
            apply_to_vhost(global, Arc::make_mut(vhost));
        }
        for secure in listener.secure_virtual_hosts.iter_mut() {
            apply_to_vhost(global, &mut Arc::make_mut(secure).virtual_host);
        }
    }
}

/// [`apply`] for the routes of one virtual host.
pub fn apply_to_vhost(global: &GlobalHeaders, vhost: &mut VirtualHost) {
    if global.is_empty() {
        return;
    }
    for route in vhost.routes.values_mut() {
        let applies = match route.source.kind.as_str() {
            "HTTPProxy" => true,
            "Ingress" => global.apply_to_ingress,
            _ => false,
        };
        if let (true, RouteAction::Forward(fwd)) = (applies, &mut route.action) {
            fwd.clusters
                .iter_mut()
                .for_each(|wc| merge_into(global, wc));
        }
    }
}

fn merge_into(global: &GlobalHeaders, wc: &mut WeightedCluster) {
    let s = &wc.cluster.service;
    let port = s.port.to_string();
    let dynamic = [
        ("CONTOUR_NAMESPACE", s.namespace.as_str()),
        ("CONTOUR_SERVICE_NAME", s.name.as_str()),
        ("CONTOUR_SERVICE_PORT", port.as_str()),
    ];
    let request = merged(
        &global.request_set,
        &global.request_remove,
        wc.request_headers.take(),
        &dynamic,
    );
    let response = merged(
        &global.response_set,
        &global.response_remove,
        wc.response_headers.take(),
        &dynamic,
    );
    wc.request_headers = request;
    wc.response_headers = response;
}

fn merged(
    set: &BTreeMap<String, String>,
    remove: &[String],
    service: Option<Box<HeadersPolicy>>,
    dynamic: &[(&str, &str)],
) -> Option<Box<HeadersPolicy>> {
    let mut out = service.unwrap_or_default();
    for (k, v) in set {
        out.set
            .entry(canonical_header_key(k))
            .or_insert_with(|| escape_header_value(v, dynamic));
    }
    for r in remove {
        let key = canonical_header_key(r);
        if !out.remove.contains(&key) {
            out.remove.push(key);
        }
    }
    out.remove.sort();
    (!out.is_empty() || !out.host_rewrite_header.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_values_win_and_variables_expand() {
        let global = GlobalHeaders {
            request_set: BTreeMap::from([
                ("x-a".into(), "global".into()),
                ("x-ns".into(), "%CONTOUR_NAMESPACE%/%HOSTNAME%/50%".into()),
            ]),
            request_remove: vec!["x-drop".into()],
            ..Default::default()
        };
        let service = HeadersPolicy {
            set: BTreeMap::from([("X-A".into(), "service".into())]),
            ..Default::default()
        };
        let got = merged(
            &global.request_set,
            &global.request_remove,
            Some(Box::new(service)),
            &[("CONTOUR_NAMESPACE", "default")],
        )
        .unwrap();
        assert_eq!(got.set["X-A"], "service");
        assert_eq!(got.set["X-Ns"], "default/%HOSTNAME%/50%%");
        assert_eq!(got.remove, vec!["X-Drop".to_string()]);
    }
}
