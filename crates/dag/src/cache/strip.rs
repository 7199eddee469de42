//! What the cache keeps of an object: the fields the build reads. Everything else (managed
//! fields, `kubectl apply`'s copy of the whole object, the data of Secrets that cannot hold
//! certificate material) is dropped on the way in, so it is neither held nor compared.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::tls::validate::{CA_CERT_KEY, CRL_KEY, TLS_CERT_KEY, TLS_KEY_KEY, check_type};

/// `kubectl apply` keeps a copy of the whole object in this annotation.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The only Secret keys any part of the build reads.
const CERTIFICATE_KEYS: [&str; 4] = [TLS_CERT_KEY, TLS_KEY_KEY, CA_CERT_KEY, CRL_KEY];

/// Drops the metadata that never affects configuration, so that it is not held and that a
/// re-applied but otherwise identical object compares equal.
pub(super) fn strip(meta: &mut ObjectMeta) {
    meta.managed_fields = None;
    meta.resource_version = None;
    if let Some(annotations) = &mut meta.annotations {
        annotations.remove(LAST_APPLIED);
        if annotations.is_empty() {
            meta.annotations = None;
        }
    }
}

/// Keeps certificate material only where it can be used: `stringData` is merged into `data`
/// (as the API server does), only the keys the build reads are kept (`tls.crt`, `tls.key`,
/// `ca.crt`, `crl.pem`), and Secrets that are neither `kubernetes.io/tls` nor `Opaque`
/// (service-account tokens, Helm releases...) keep no data at all, as upstream's informer does.
/// Nothing reads a Secret's labels or annotations.
pub(super) fn normalize_secret(secret: &mut Secret) {
    if let Some(strings) = secret.string_data.take() {
        let data = secret.data.get_or_insert_with(BTreeMap::new);
        for (k, v) in strings {
            data.insert(k, k8s_openapi::ByteString(v.into_bytes()));
        }
    }
    if check_type(secret.type_.as_deref()).is_err() {
        secret.data = None;
    }
    if let Some(data) = &mut secret.data {
        data.retain(|k, _| CERTIFICATE_KEYS.contains(&k.as_str()));
    }
    secret.metadata.labels = None;
    secret.metadata.annotations = None;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::Object;
    use crate::testutil::obj;

    fn secret(yaml: &str) -> Secret {
        match obj(yaml) {
            Object::Secret(s) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn secrets_keep_only_certificate_keys() {
        let mut s = secret(
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: n, labels: {a: b}}\n\
             type: Opaque\ndata: {ca.crt: Y2E=, password: cHc=}\nstringData: {crl.pem: crl, x: y}\n",
        );
        normalize_secret(&mut s);
        let keys: Vec<&str> = s.data.iter().flatten().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["ca.crt", "crl.pem"]);
        assert!(s.metadata.labels.is_none());
    }

    #[test]
    fn secrets_of_other_types_keep_no_data() {
        for ty in ["helm.sh/release.v1", "kubernetes.io/service-account-token"] {
            let mut s = secret(&format!(
                "apiVersion: v1\nkind: Secret\nmetadata: {{name: s, namespace: n}}\n\
                 type: {ty}\ndata: {{tls.crt: Y2E=, release: cmVs}}\n"
            ));
            normalize_secret(&mut s);
            assert_eq!(s.data, None, "{ty}");
        }
    }

    #[test]
    fn last_applied_configuration_and_managed_fields_are_dropped() {
        let o = obj(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  namespace: n\n  resourceVersion: '7'\n  \
             annotations: {kubectl.kubernetes.io/last-applied-configuration: '{}'}\n  \
             managedFields: [{manager: kubectl}]\n",
        );
        let mut meta = o.meta().clone();
        strip(&mut meta);
        assert_eq!(meta.annotations, None);
        assert_eq!(meta.managed_fields, None);
        assert_eq!(meta.resource_version, None);
        assert_eq!(meta.name.as_deref(), Some("s"));
    }
}
