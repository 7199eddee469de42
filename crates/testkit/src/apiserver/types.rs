//! The resource types the test API server knows: group, version, kind, plural, scope and
//! whether `/status` is a subresource. Unknown resources answer 404, like a cluster where a CRD
//! is not installed.

/// One resource type served by the test API server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    /// API group; `""` for the core group.
    pub group: String,
    pub version: String,
    pub kind: String,
    /// The lower-case plural used in URLs.
    pub plural: String,
    pub namespaced: bool,
    /// `/status` is a subresource: writes to the main resource keep the stored status and
    /// writes to `/status` change only the status.
    pub status_subresource: bool,
}

impl ResourceType {
    pub fn new(api_version: &str, kind: &str, plural: &str, namespaced: bool) -> Self {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api_version.to_string()),
        };
        ResourceType {
            group,
            version,
            kind: kind.to_string(),
            plural: plural.to_string(),
            namespaced,
            status_subresource: false,
        }
    }

    #[must_use]
    pub fn with_status(mut self) -> Self {
        self.status_subresource = true;
        self
    }

    /// `apiVersion` as written in objects: `v1` or `group/version`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The built-in kinds Contour reads and writes, plus Contour's CRDs.
    pub fn defaults() -> Vec<ResourceType> {
        let mut all = Self::core();
        all.extend(Self::contour_crds());
        all
    }

    /// Kubernetes' own kinds (no CRD needed).
    pub fn core() -> Vec<ResourceType> {
        vec![
            Self::new("v1", "Namespace", "namespaces", false).with_status(),
            Self::new("v1", "Service", "services", true).with_status(),
            Self::new("v1", "Secret", "secrets", true),
            Self::new("v1", "ConfigMap", "configmaps", true),
            Self::new(
                "discovery.k8s.io/v1",
                "EndpointSlice",
                "endpointslices",
                true,
            ),
            Self::new("networking.k8s.io/v1", "Ingress", "ingresses", true).with_status(),
            Self::new("coordination.k8s.io/v1", "Lease", "leases", true),
        ]
    }

    /// `projectcontour.io` CRDs, all with a status subresource.
    pub fn contour_crds() -> Vec<ResourceType> {
        vec![
            Self::new("projectcontour.io/v1", "HTTPProxy", "httpproxies", true).with_status(),
            Self::new(
                "projectcontour.io/v1",
                "TLSCertificateDelegation",
                "tlscertificatedelegations",
                true,
            )
            .with_status(),
            Self::new(
                "projectcontour.io/v1alpha1",
                "ExtensionService",
                "extensionservices",
                true,
            )
            .with_status(),
            Self::new(
                "projectcontour.io/v1alpha1",
                "ContourConfiguration",
                "contourconfigurations",
                true,
            )
            .with_status(),
        ]
    }
}
