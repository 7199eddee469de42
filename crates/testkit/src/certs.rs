//! Test certificates made on the fly with rcgen: a CA, leaves it signs (usable as server and
//! client certificates), CRLs, and the Secret manifests that carry them.

use std::sync::atomic::{AtomicU64, Ordering};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason,
    RevokedCertParams, SerialNumber,
};
use time::{Duration, OffsetDateTime};

static SERIAL: AtomicU64 = AtomicU64::new(1);

fn next_serial() -> SerialNumber {
    let n = SERIAL.fetch_add(1, Ordering::Relaxed) + u64::from(std::process::id()) * 1_000_000;
    SerialNumber::from(n)
}

/// A certificate authority.
pub struct TestCa {
    params: CertificateParams,
    key: KeyPair,
    /// The CA certificate, PEM.
    pub cert_pem: String,
}

/// A certificate signed by a [`TestCa`], with its key.
#[derive(Debug, Clone)]
pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
    pub serial: SerialNumber,
}

impl TestCa {
    /// A new self-signed CA named `cn`.
    ///
    /// # Panics
    /// When key generation fails (never with the ring provider).
    pub fn new(cn: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        params.distinguished_name.push(DnType::CommonName, cn);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.serial_number = Some(next_serial());
        params.not_before = OffsetDateTime::now_utc() - Duration::days(1);
        let key = KeyPair::generate().expect("ca key");
        let cert = params.self_signed(&key).expect("self-signed ca");
        TestCa {
            params,
            key,
            cert_pem: cert.pem(),
        }
    }

    /// A leaf certificate for `cn` with DNS SANs `sans`, valid for server and client auth.
    ///
    /// # Panics
    /// When a SAN is not a valid DNS name.
    pub fn leaf(&self, cn: &str, sans: &[&str]) -> Leaf {
        let names: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let serial = next_serial();
        params.serial_number = Some(serial.clone());
        params.not_before = OffsetDateTime::now_utc() - Duration::days(1);
        let key = KeyPair::generate().expect("leaf key");
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).expect("signed leaf");
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            serial,
        }
    }

    /// A CRL revoking `revoked`, PEM.
    ///
    /// # Panics
    /// When signing fails.
    pub fn crl(&self, revoked: &[&Leaf]) -> String {
        let now = OffsetDateTime::now_utc();
        let params = CertificateRevocationListParams {
            this_update: now - Duration::hours(1),
            next_update: now + Duration::days(30),
            crl_number: next_serial(),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|l| RevokedCertParams {
                    serial_number: l.serial.clone(),
                    revocation_time: now - Duration::minutes(30),
                    reason_code: Some(RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let issuer = Issuer::from_params(&self.params, &self.key);
        params
            .signed_by(&issuer)
            .expect("signed crl")
            .pem()
            .expect("crl pem")
    }
}

fn indent(pem: &str) -> String {
    pem.lines().map(|l| format!("    {l}\n")).collect()
}

/// A `kubernetes.io/tls` Secret manifest (stringData) holding `leaf`.
pub fn tls_secret_yaml(ns: &str, name: &str, leaf: &Leaf) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: {ns}}}\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: |\n{}  tls.key: |\n{}",
        indent(&leaf.cert_pem),
        indent(&leaf.key_pem)
    )
}

/// An Opaque Secret manifest with one PEM value under `key` (`ca.crt`, `crl.pem`).
pub fn pem_secret_yaml(ns: &str, name: &str, key: &str, pem: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: {ns}}}\ntype: Opaque\nstringData:\n  {key}: |\n{}",
        indent(pem)
    )
}
