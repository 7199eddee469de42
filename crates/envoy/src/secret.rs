//! SDS: the serving and client certificates the DAG references, by their hashed names.
//!
//! Only certificates a valid DAG object points at are here: serving certificates of secure
//! virtual hosts, the fallback certificate, and the Envoy client certificate of TLS clusters
//! (route and extension clusters).
//! CA bundles and CRLs are inlined in validation contexts instead.

use std::collections::BTreeMap;

use contour_dag::Dag;
use envoy_types::pb::envoy::config::core::v3::{DataSource, data_source};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    Secret, TlsCertificate, secret,
};

use contour_dag::cache::EncodedSecret;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};

use crate::names::{secret_name, secret_name_of};

/// Every referenced certificate as an SDS `Secret`, sorted by name, each once.
pub fn secrets(dag: &Dag) -> Vec<Secret> {
    referenced_secrets(dag)
        .into_iter()
        .map(|(name, s)| tls_secret(name, s))
        .collect()
}

/// The certificates the DAG references, by SDS name (the first of equal names wins).
pub fn referenced_secrets(dag: &Dag) -> BTreeMap<String, &contour_dag::Secret> {
    referenced_secrets_of(dag, &dag.clusters())
}

/// [`referenced_secrets`] with the DAG's clusters already listed.
pub fn referenced_secrets_of<'a>(
    dag: &'a Dag,
    clusters: &[&'a contour_dag::Cluster],
) -> BTreeMap<String, &'a contour_dag::Secret> {
    let served: Vec<(String, &contour_dag::Secret)> = served_certificates(dag)
        .map(|s| (secret_name(s), s))
        .collect();
    let served = served.iter().map(|(name, s)| (name.as_str(), *s));
    referenced_secrets_named(dag, served, clusters)
}

/// The serving and fallback certificates of every secure virtual host, in order.
pub fn served_certificates(dag: &Dag) -> impl Iterator<Item = &contour_dag::Secret> {
    dag.listeners
        .values()
        .flat_map(|l| l.secure_virtual_hosts.iter())
        .flat_map(|svh| svh.secret.iter().chain(svh.fallback_certificate.iter()))
}

/// [`referenced_secrets_of`] with the [`served_certificates`] already named.
pub fn referenced_secrets_named<'a, 'n>(
    dag: &'a Dag,
    served: impl Iterator<Item = (&'n str, &'a contour_dag::Secret)>,
    clusters: &[&'a contour_dag::Cluster],
) -> BTreeMap<String, &'a contour_dag::Secret> {
    let mut out: BTreeMap<String, &contour_dag::Secret> = BTreeMap::new();
    for (name, s) in served {
        if !out.contains_key(name) {
            out.insert(name.to_string(), s);
        }
    }
    for c in clusters {
        if c.is_tls()
            && let Some(s) = &c.client_certificate
        {
            out.entry(secret_name(s)).or_insert(s);
        }
    }
    // Extension clusters present it over TLS (`h2`) too; upstream leaves it out of SDS when
    // no route cluster uses it, and Envoy then waits for it forever.
    for ext in dag.extension_clusters.values() {
        if ext.protocol == contour_dag::extension::PROTOCOL_H2
            && let Some(s) = &ext.client_certificate
        {
            out.entry(secret_name(s)).or_insert(s);
        }
    }
    out
}

/// The SDS resource of certificate `cert_chain` and key `private_key` of Secret
/// `namespace/name`, as the cache keeps it ([`contour_dag::cache::SecretEncoder`]): byte for
/// byte what prost encodes for [`tls_secret`] under [`secret_name_of`], with where the chain and
/// the key are inside it, so that the cache holds the material once, in its served form.
pub fn encode_tls_secret(
    namespace: &str,
    name: &str,
    cert_chain: &[u8],
    private_key: &[u8],
) -> EncodedSecret {
    let sds_name = secret_name_of(namespace, name, cert_chain);
    // DataSource { inline_bytes = 2 } for each; TlsCertificate { certificate_chain = 1,
    // private_key = 2 }; Secret { name = 1, tls_certificate = 2 }.
    let (chain_source, key_source) = (field_len(cert_chain.len()), field_len(private_key.len()));
    let certificate = field_len(chain_source) + field_len(key_source);
    // The name is never empty (namespace, name and a hash), so prost always writes it.
    let mut out = Vec::with_capacity(field_len(sds_name.len()) + field_len(certificate));
    open(&mut out, 1, sds_name.len());
    out.extend_from_slice(sds_name.as_bytes());
    open(&mut out, 2, certificate);
    open(&mut out, 1, chain_source);
    open(&mut out, 2, cert_chain.len());
    let chain_at = out.len()..out.len() + cert_chain.len();
    out.extend_from_slice(cert_chain);
    open(&mut out, 2, key_source);
    open(&mut out, 2, private_key.len());
    let key_at = out.len()..out.len() + private_key.len();
    out.extend_from_slice(private_key);
    EncodedSecret {
        bytes: out.into(),
        cert_chain: chain_at,
        private_key: key_at,
    }
}

/// The encoded length of a length-delimited field (tag below 16) holding `len` bytes.
fn field_len(len: usize) -> usize {
    1 + encoded_len_varint(len as u64) + len
}

/// Writes the key and length of length-delimited field `field`.
fn open(out: &mut Vec<u8>, field: u32, len: usize) {
    encode_key(field, WireType::LengthDelimited, out);
    encode_varint(len as u64, out);
}

/// One certificate: chain and key inline.
pub fn tls_secret(name: String, s: &contour_dag::Secret) -> Secret {
    let inline = |bytes: &[u8]| DataSource {
        specifier: Some(data_source::Specifier::InlineBytes(bytes.to_vec())),
        ..Default::default()
    };
    Secret {
        name,
        r#type: Some(secret::Type::TlsCertificate(TlsCertificate {
            certificate_chain: Some(inline(&s.cert_chain)),
            private_key: Some(inline(&s.private_key)),
            ..Default::default()
        })),
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn the_cache_form_of_a_certificate_is_what_the_translator_would_encode() {
        let long = "n".repeat(70);
        for (ns, name, chain, key) in [
            (
                "default",
                "cert",
                &b"-----BEGIN CERTIFICATE-----\nabc"[..],
                &b"key"[..],
            ),
            (
                "default",
                long.as_str(),
                &[7u8; 300][..],
                &[9u8; 20_000][..],
            ),
            ("ns", "empty", &b""[..], &b""[..]),
        ] {
            let encoded = encode_tls_secret(ns, name, chain, key);
            let secret = contour_dag::Secret {
                namespace: ns.into(),
                name: name.into(),
                cert_chain: chain.to_vec().into(),
                private_key: key.to_vec().into(),
                served: None,
            };
            let want = tls_secret(secret_name(&secret), &secret).encode_to_vec();
            assert_eq!(&encoded.bytes[..], &want[..], "{ns}/{name}");
            assert_eq!(&encoded.bytes[encoded.cert_chain], chain);
            assert_eq!(&encoded.bytes[encoded.private_key], key);
        }
    }
}
