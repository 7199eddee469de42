//! What the cache keeps of a Secret holding certificate material: its type and the keys the
//! build reads, each value shared (`Arc`) with the certificates the DAG builds from it, so that
//! a serving certificate is held once however many virtual hosts use it.

use k8s_openapi::api::core::v1::Secret;

use crate::tls::validate::{CA_CERT_KEY, SecretData};

/// A Secret with certificate material, as the build sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CachedSecret {
    pub type_: Option<String>,
    /// `tls.crt`, `tls.key`, `ca.crt`, `crl.pem` (the others are dropped on the way in).
    pub data: SecretData,
}

impl CachedSecret {
    /// Whether it holds a CA bundle: such a Secret may be referenced from places the cache does
    /// not track cheaply, so any change of it rebuilds (as upstream).
    pub fn has_ca(&self) -> bool {
        self.data.contains_key(CA_CERT_KEY)
    }
}

impl From<Secret> for CachedSecret {
    fn from(secret: Secret) -> Self {
        let data = secret.data.into_iter().flatten();
        CachedSecret {
            type_: secret.type_,
            data: data.map(|(k, v)| (k, v.0.into())).collect(),
        }
    }
}
