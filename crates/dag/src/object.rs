//! The Kubernetes objects the cache holds, as one enum so every source (manifests directory,
//! Kubernetes API) feeds the same event loop.

use contour_api::v1::{HTTPProxy, TLSCertificateDelegation};
use contour_api::v1alpha1::ExtensionService;
use k8s_openapi::api::core::v1::{Namespace, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The kinds Contour reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Namespace,
    Service,
    EndpointSlice,
    Secret,
    Ingress,
    HTTPProxy,
    TLSCertificateDelegation,
    ExtensionService,
}

impl Kind {
    /// `(apiVersion, kind)` pairs accepted for each kind.
    pub fn from_type(api_version: &str, kind: &str) -> Option<Kind> {
        Some(match (api_version, kind) {
            ("v1", "Namespace") => Kind::Namespace,
            ("v1", "Service") => Kind::Service,
            ("v1", "Secret") => Kind::Secret,
            ("discovery.k8s.io/v1", "EndpointSlice") => Kind::EndpointSlice,
            ("networking.k8s.io/v1", "Ingress") => Kind::Ingress,
            ("projectcontour.io/v1", "HTTPProxy") => Kind::HTTPProxy,
            ("projectcontour.io/v1", "TLSCertificateDelegation") => Kind::TLSCertificateDelegation,
            ("projectcontour.io/v1alpha1", "ExtensionService") => Kind::ExtensionService,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Namespace => "Namespace",
            Kind::Service => "Service",
            Kind::EndpointSlice => "EndpointSlice",
            Kind::Secret => "Secret",
            Kind::Ingress => "Ingress",
            Kind::HTTPProxy => "HTTPProxy",
            Kind::TLSCertificateDelegation => "TLSCertificateDelegation",
            Kind::ExtensionService => "ExtensionService",
        }
    }

    pub fn is_namespaced(self) -> bool {
        !matches!(self, Kind::Namespace)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Identity of an object: kind, namespace ("" for cluster-scoped kinds) and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// One Kubernetes object of a kind Contour reads. Objects are moved, not copied, through the
/// event loop, so the size difference between variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    Namespace(Namespace),
    Service(Service),
    EndpointSlice(EndpointSlice),
    Secret(Secret),
    Ingress(Ingress),
    HTTPProxy(HTTPProxy),
    TLSCertificateDelegation(TLSCertificateDelegation),
    ExtensionService(ExtensionService),
}

impl Object {
    pub fn kind(&self) -> Kind {
        match self {
            Object::Namespace(_) => Kind::Namespace,
            Object::Service(_) => Kind::Service,
            Object::EndpointSlice(_) => Kind::EndpointSlice,
            Object::Secret(_) => Kind::Secret,
            Object::Ingress(_) => Kind::Ingress,
            Object::HTTPProxy(_) => Kind::HTTPProxy,
            Object::TLSCertificateDelegation(_) => Kind::TLSCertificateDelegation,
            Object::ExtensionService(_) => Kind::ExtensionService,
        }
    }

    pub fn meta(&self) -> &ObjectMeta {
        match self {
            Object::Namespace(o) => &o.metadata,
            Object::Service(o) => &o.metadata,
            Object::EndpointSlice(o) => &o.metadata,
            Object::Secret(o) => &o.metadata,
            Object::Ingress(o) => &o.metadata,
            Object::HTTPProxy(o) => &o.metadata,
            Object::TLSCertificateDelegation(o) => &o.metadata,
            Object::ExtensionService(o) => &o.metadata,
        }
    }

    pub fn key(&self) -> ObjectKey {
        let meta = self.meta();
        ObjectKey {
            kind: self.kind(),
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
        }
    }

    /// Writes the object as JSON (the digest of the manifests source hashes this stream).
    pub fn write_json<W: std::io::Write>(&self, w: W) -> Result<(), serde_json::Error> {
        match self {
            Object::Namespace(o) => serde_json::to_writer(w, o),
            Object::Service(o) => serde_json::to_writer(w, o),
            Object::EndpointSlice(o) => serde_json::to_writer(w, o),
            Object::Secret(o) => serde_json::to_writer(w, o),
            Object::Ingress(o) => serde_json::to_writer(w, o),
            Object::HTTPProxy(o) => serde_json::to_writer(w, o),
            Object::TLSCertificateDelegation(o) => serde_json::to_writer(w, o),
            Object::ExtensionService(o) => serde_json::to_writer(w, o),
        }
    }

    /// Decodes an already admitted JSON object of the given kind.
    pub fn from_json(kind: Kind, value: serde_json::Value) -> Result<Object, serde_json::Error> {
        Ok(match kind {
            Kind::Namespace => Object::Namespace(serde_json::from_value(value)?),
            Kind::Service => Object::Service(serde_json::from_value(value)?),
            Kind::EndpointSlice => Object::EndpointSlice(serde_json::from_value(value)?),
            Kind::Secret => Object::Secret(serde_json::from_value(value)?),
            Kind::Ingress => Object::Ingress(serde_json::from_value(value)?),
            Kind::HTTPProxy => Object::HTTPProxy(serde_json::from_value(value)?),
            Kind::TLSCertificateDelegation => {
                Object::TLSCertificateDelegation(serde_json::from_value(value)?)
            }
            Kind::ExtensionService => Object::ExtensionService(serde_json::from_value(value)?),
        })
    }
}

/// A change of the objects a source serves; every source (manifests directory, Kubernetes API)
/// feeds the event loop with these.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "events are moved one at a time through a channel; boxing would only add allocations"
)]
pub enum SourceEvent {
    Upsert(Object),
    Delete(ObjectKey),
    /// Sent once, after the Upserts of the initial load (of every watcher, for Kubernetes).
    InitialSyncDone,
}
