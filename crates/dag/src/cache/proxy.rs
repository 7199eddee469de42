//! What the cache keeps of an HTTPProxy: its spec and the metadata the build reads, under the
//! same names as in the object. The Kubernetes metadata alone is 360 bytes before any of its
//! strings (uid, timestamps, labels, owner references, finalizers...), and the status the
//! build never reads takes another 96: a cached proxy is about a third of the object.

use contour_api::v1::{HTTPProxy, HTTPProxySpec};

/// An HTTPProxy as the build sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CachedProxy {
    pub metadata: ProxyMeta,
    pub spec: HTTPProxySpec,
}

/// The metadata the build reads: the name, and the generation (`observedGeneration` of the
/// status). The ingress class annotation is read on the way in; nothing reads the others.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProxyMeta {
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub generation: Option<i64>,
}

impl From<HTTPProxy> for CachedProxy {
    fn from(proxy: HTTPProxy) -> Self {
        let meta = proxy.metadata;
        CachedProxy {
            metadata: ProxyMeta {
                name: meta.name,
                namespace: meta.namespace,
                generation: meta.generation,
            },
            spec: proxy.spec,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::Object;
    use crate::testutil::obj;

    #[test]
    fn keeps_the_spec_and_what_the_status_needs_in_a_third_of_the_space() {
        let Object::HTTPProxy(proxy) = obj("apiVersion: projectcontour.io/v1\nkind: HTTPProxy\n\
             metadata: {name: p, namespace: n, generation: 3, labels: {a: b}, uid: u}\n\
             spec: {virtualhost: {fqdn: a.example.com}, routes: [{services: [{name: s, port: 80}]}]}\n")
        else {
            panic!("not a proxy")
        };
        let spec = proxy.spec.clone();
        let cached = CachedProxy::from(proxy);
        assert_eq!(cached.spec, spec);
        assert_eq!(cached.metadata.name.as_deref(), Some("p"));
        assert_eq!(cached.metadata.namespace.as_deref(), Some("n"));
        assert_eq!(cached.metadata.generation, Some(3));
        let (slim, full) = (size_of::<CachedProxy>(), size_of::<HTTPProxy>());
        assert!(slim * 3 <= full, "{slim} bytes against {full}");
    }
}
