//! `contour certgen [outputdir]`: a CA plus contour and envoy certificates for xDS mTLS, as
//! PEM files (`--pem`) and/or Kubernetes Secret YAML (`--yaml`), with upstream's file names,
//! Secret names, SANs and formats. Keys are ECDSA P-256 (upstream: RSA 2048).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SerialNumber,
};
use time::{Duration, OffsetDateTime};

use crate::cli::CertgenArgs;

/// Everything certgen makes, PEM encoded.
pub struct Certificates {
    pub ca_cert: String,
    pub contour_cert: String,
    pub contour_key: String,
    pub envoy_cert: String,
    pub envoy_key: String,
}

/// `service`, `service.ns`, `service.ns.svc`, `service.ns.svc.cluster.local`.
fn service_names(service: &str, namespace: &str) -> Vec<String> {
    vec![
        service.to_string(),
        format!("{service}.{namespace}"),
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
    ]
}

fn serial() -> SerialNumber {
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
    SerialNumber::from((nanos as u64).to_be_bytes().to_vec())
}

/// Generates the CA and the two leaf certificates, valid from a day ago for `lifetime_days`.
pub fn generate(namespace: &str, lifetime_days: u32) -> anyhow::Result<Certificates> {
    let now = OffsetDateTime::now_utc();
    let (not_before, not_after) = (
        now - Duration::days(1),
        now + Duration::days(i64::from(lifetime_days)),
    );
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(DnType::CommonName, "Project Contour");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    (ca.not_before, ca.not_after, ca.serial_number) = (not_before, not_after, Some(serial()));
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::from_params(&ca, &ca_key);
    let leaf = |service: &str| -> anyhow::Result<(String, String)> {
        let mut p = CertificateParams::new(service_names(service, namespace))?;
        p.distinguished_name.push(DnType::CommonName, service);
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::DataEncipherment,
            KeyUsagePurpose::ContentCommitment,
        ];
        p.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        (p.not_before, p.not_after, p.serial_number) = (not_before, not_after, Some(serial()));
        let key = KeyPair::generate()?;
        let cert = p.signed_by(&key, &issuer)?;
        Ok((cert.pem(), key.serialize_pem()))
    };
    let (contour_cert, contour_key) = leaf("contour")?;
    let (envoy_cert, envoy_key) = leaf("envoy")?;
    Ok(Certificates {
        ca_cert: ca_cert.pem(),
        contour_cert,
        contour_key,
        envoy_cert,
        envoy_key,
    })
}

fn secret(name: String, namespace: &str, type_: &str, data: &[(&str, &str)]) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(namespace.to_string()),
            labels: Some(BTreeMap::from([("app".to_string(), "contour".to_string())])),
            ..Default::default()
        },
        type_: Some(type_.to_string()),
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                .collect(),
        ),
        ..Default::default()
    }
}

/// The Secrets in upstream's `legacy` (CA in its own `cacert` Secret) or `compact` (CA as
/// `ca.crt` in both TLS Secrets) format.
pub fn secrets(
    certs: &Certificates,
    namespace: &str,
    suffix: &str,
    format: &str,
) -> anyhow::Result<Vec<Secret>> {
    let tls = "kubernetes.io/tls";
    let names_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 253
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
    };
    if !names_ok(namespace) || !names_ok(&format!("contourcert{suffix}")) {
        bail!("invalid namespace {namespace:?} or secret name suffix {suffix:?}");
    }
    Ok(match format {
        "legacy" => vec![
            secret(
                format!("contourcert{suffix}"),
                namespace,
                tls,
                &[
                    ("tls.crt", &certs.contour_cert),
                    ("tls.key", &certs.contour_key),
                ],
            ),
            secret(
                format!("envoycert{suffix}"),
                namespace,
                tls,
                &[
                    ("tls.crt", &certs.envoy_cert),
                    ("tls.key", &certs.envoy_key),
                ],
            ),
            secret(
                format!("cacert{suffix}"),
                namespace,
                "Opaque",
                &[("cacert.pem", &certs.ca_cert)],
            ),
        ],
        "compact" => vec![
            secret(
                format!("contourcert{suffix}"),
                namespace,
                tls,
                &[
                    ("ca.crt", &certs.ca_cert),
                    ("tls.crt", &certs.contour_cert),
                    ("tls.key", &certs.contour_key),
                ],
            ),
            secret(
                format!("envoycert{suffix}"),
                namespace,
                tls,
                &[
                    ("ca.crt", &certs.ca_cert),
                    ("tls.crt", &certs.envoy_cert),
                    ("tls.key", &certs.envoy_key),
                ],
            ),
        ],
        other => bail!("unsupported Secrets format {other:?}"),
    })
}

/// Creates `path` (mode 0600); without `overwrite` an existing file is an error.
fn write_file(path: &Path, content: &[u8], overwrite: bool) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("unable to create {}", dir.display()))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).mode(0o600);
    if overwrite {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("can't create file {}", path.display()))?;
    f.write_all(content)
        .with_context(|| format!("writing {}", path.display()))?;
    println!("{} created", path.display());
    Ok(())
}

pub fn run(args: CertgenArgs) -> anyhow::Result<()> {
    let certs = generate(&args.namespace, args.certificate_lifetime)?;
    let secrets = if args.yaml || args.kube || args.incluster {
        secrets(
            &certs,
            &args.namespace,
            &args.secrets_name_suffix,
            &args.secrets_format,
        )?
    } else {
        Vec::new()
    };
    if args.kube || args.incluster {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(write_to_kubernetes(&args, &secrets))?;
    }
    let dir = &args.outputdir;
    if args.pem {
        println!("Writing certificates to PEM files in {}/", dir.display());
        for (file, content) in [
            ("cacert.pem", &certs.ca_cert),
            ("contourcert.pem", &certs.contour_cert),
            ("contourkey.pem", &certs.contour_key),
            ("envoycert.pem", &certs.envoy_cert),
            ("envoykey.pem", &certs.envoy_key),
        ] {
            write_file(&dir.join(file), content.as_bytes(), args.overwrite)?;
        }
    }
    if args.yaml {
        println!(
            "Writing {:?} format Secrets to YAML files in {}/",
            args.secrets_format,
            dir.display()
        );
        for s in &secrets {
            let name = s.metadata.name.clone().unwrap_or_default();
            let yaml = serde_norway::to_string(s)?;
            write_file(
                &dir.join(format!("{name}.yaml")),
                yaml.as_bytes(),
                args.overwrite,
            )?;
        }
    }
    Ok(())
}

/// `--kube`: creates the Secrets through the API (`--incluster` or `--kubeconfig`); an existing
/// Secret is replaced only with `--overwrite`.
async fn write_to_kubernetes(args: &CertgenArgs, secrets: &[Secret]) -> anyhow::Result<()> {
    use kube::api::{Api, PostParams};
    let opts = contour_k8s::ClientOptions {
        kubeconfig: args.kubeconfig.clone(),
        incluster: args.incluster,
        ..Default::default()
    };
    let client = contour_k8s::client(&opts).await?;
    let api: Api<Secret> = Api::namespaced(client, &args.namespace);
    for s in secrets {
        let name = s.metadata.name.clone().unwrap_or_default();
        match api.create(&PostParams::default(), s).await {
            Ok(_) => println!("secret/{name} created"),
            Err(kube::Error::Api(e)) if e.code == 409 && args.overwrite => {
                let mut fresh = s.clone();
                fresh.metadata.resource_version = api.get(&name).await?.metadata.resource_version;
                api.replace(&name, &PostParams::default(), &fresh).await?;
                println!("secret/{name} updated");
            }
            Err(kube::Error::Api(e)) if e.code == 409 => println!("secret/{name} already exists"),
            Err(e) => return Err(e).with_context(|| format!("creating secret/{name}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_and_secret_formats() {
        let certs = generate("projectcontour", 30).unwrap();
        assert!(certs.ca_cert.starts_with("-----BEGIN CERTIFICATE-----"));
        let legacy = secrets(&certs, "projectcontour", "-x", "legacy").unwrap();
        let names: Vec<_> = legacy
            .iter()
            .map(|s| s.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(names, ["contourcert-x", "envoycert-x", "cacert-x"]);
        assert!(legacy[2].data.as_ref().unwrap().contains_key("cacert.pem"));
        let compact = secrets(&certs, "projectcontour", "", "compact").unwrap();
        assert_eq!(compact.len(), 2);
        assert!(compact[0].data.as_ref().unwrap().contains_key("ca.crt"));
        assert!(secrets(&certs, "projectcontour", "", "fancy").is_err());
        assert!(secrets(&certs, "Bad_NS", "", "legacy").is_err());
        let yaml = serde_norway::to_string(&legacy[0]).unwrap();
        assert!(
            yaml.contains("apiVersion: v1") && yaml.contains("kind: Secret"),
            "{yaml}"
        );
    }

    #[test]
    fn service_names_as_upstream() {
        assert_eq!(
            service_names("contour", "ns"),
            [
                "contour",
                "contour.ns",
                "contour.ns.svc",
                "contour.ns.svc.cluster.local"
            ]
        );
    }
}
