//! Ingress class matching, shared by Ingress and HTTPProxy (upstream's `ingressclass` rules):
//! the `projectcontour.io/ingress.class` annotation, else `kubernetes.io/ingress.class`, takes
//! precedence over `spec.ingressClassName`. With no configured class names, an object matches when
//! its class is empty or `contour`; otherwise its class must be one of the configured names.

use contour_api::v1::HTTPProxy;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

pub const DEFAULT_CLASS_NAME: &str = "contour";
const CONTOUR_ANNOTATION: &str = "projectcontour.io/ingress.class";
const KUBERNETES_ANNOTATION: &str = "kubernetes.io/ingress.class";

/// The configured class names (`--ingress-class-name a,b`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassFilter {
    pub names: Vec<String>,
}

impl ClassFilter {
    pub fn new(names: impl IntoIterator<Item = String>) -> Self {
        ClassFilter {
            names: names.into_iter().filter(|n| !n.is_empty()).collect(),
        }
    }

    pub fn matches(&self, class: Option<&str>) -> bool {
        let class = class.unwrap_or_default();
        if self.names.is_empty() {
            class.is_empty() || class == DEFAULT_CLASS_NAME
        } else {
            self.names.iter().any(|n| n == class)
        }
    }
}

fn annotated_class(meta: &ObjectMeta) -> Option<&str> {
    let ann = meta.annotations.as_ref()?;
    ann.get(CONTOUR_ANNOTATION)
        .or_else(|| ann.get(KUBERNETES_ANNOTATION))
        .map(String::as_str)
}

pub fn ingress_matches(filter: &ClassFilter, ing: &Ingress) -> bool {
    let field = ing
        .spec
        .as_ref()
        .and_then(|s| s.ingress_class_name.as_deref());
    filter.matches(annotated_class(&ing.metadata).or(field))
}

pub fn proxy_matches(filter: &ClassFilter, proxy: &HTTPProxy) -> bool {
    let field = proxy.spec.ingress_class_name.as_deref();
    filter.matches(annotated_class(&proxy.metadata).or(field))
}
