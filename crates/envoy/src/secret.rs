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

use crate::names::secret_name;

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
