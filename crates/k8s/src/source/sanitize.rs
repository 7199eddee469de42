//! What is dropped from objects before they reach the cache: `managedFields` always (they are
//! often larger than the object), and the data of Secrets Contour never reads.

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The field selector for the Secrets watch: Helm release and service-account token Secrets are
/// never listed (upstream Contour ran out of memory at startup in clusters full of them).
pub const SECRET_FIELD_SELECTOR: &str =
    "type!=helm.sh/release.v1,type!=kubernetes.io/service-account-token";

/// Secret types whose data Contour may use: TLS certificates and Opaque (CA bundles, JWKS...).
const KEPT_SECRET_TYPES: [&str; 2] = ["kubernetes.io/tls", "Opaque"];

pub fn strip_managed_fields(meta: &mut ObjectMeta) {
    meta.managed_fields = None;
}

/// `kubectl apply` keeps the whole object, data included, in this annotation.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Drops the data of Secrets whose type Contour never reads (a Secret without a type is
/// Opaque), and the copy of the data `kubectl apply` leaves in an annotation.
pub fn secret(mut s: Secret) -> Secret {
    strip_managed_fields(&mut s.metadata);
    if let Some(a) = s.metadata.annotations.as_mut() {
        a.remove(LAST_APPLIED);
    }
    let kept = s
        .type_
        .as_deref()
        .is_none_or(|t| t.is_empty() || KEPT_SECRET_TYPES.contains(&t));
    if !kept {
        s.data = None;
        s.string_data = None;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
    use std::collections::BTreeMap;

    fn with_type(t: Option<&str>) -> Secret {
        Secret {
            metadata: ObjectMeta {
                name: Some("s".into()),
                managed_fields: Some(vec![ManagedFieldsEntry::default()]),
                annotations: Some(BTreeMap::from([(
                    LAST_APPLIED.to_string(),
                    "{}".to_string(),
                )])),
                ..Default::default()
            },
            type_: t.map(str::to_string),
            data: Some(BTreeMap::from([(
                "tls.crt".to_string(),
                ByteString(b"pem".to_vec()),
            )])),
            ..Default::default()
        }
    }

    #[test]
    fn keeps_tls_and_opaque_data_drops_the_rest() {
        for t in [Some("kubernetes.io/tls"), Some("Opaque"), None, Some("")] {
            let s = secret(with_type(t));
            assert!(s.data.is_some(), "{t:?}");
            assert!(s.metadata.managed_fields.is_none());
            assert_eq!(s.metadata.annotations, Some(BTreeMap::new()));
        }
        for t in [
            "kubernetes.io/dockerconfigjson",
            "bootstrap.kubernetes.io/token",
        ] {
            let s = secret(with_type(Some(t)));
            assert!(s.data.is_none(), "{t}");
            assert_eq!(s.metadata.name.as_deref(), Some("s"));
        }
    }
}
