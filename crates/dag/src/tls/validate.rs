//! Validation of certificate material in Secrets, with upstream's error messages.
//!
//! Nothing here trusts the input: every PEM block is decoded and parsed, and a serving key must
//! belong to the serving certificate, so that Envoy is never handed material it would reject
//! (a rejected SDS update would stop every other certificate update too).

use std::collections::{BTreeMap, HashMap};
use std::sync::{LazyLock, Mutex};

use bytes::Bytes;

use rustls_pki_types::pem::{self, SectionKind};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer};
use sha2::{Digest, Sha256};

/// Keys of certificate material in Secrets.
pub const TLS_CERT_KEY: &str = "tls.crt";
pub const TLS_KEY_KEY: &str = "tls.key";
pub const CA_CERT_KEY: &str = "ca.crt";
pub const CRL_KEY: &str = "crl.pem";

pub const SECRET_TYPE_TLS: &str = "kubernetes.io/tls";
pub const SECRET_TYPE_OPAQUE: &str = "Opaque";

/// Secret data after merging `stringData` (see [`crate::cache`]); values are shared with the
/// certificates built from them (and, for a serving certificate, with its served form: see
/// [`crate::cache::SecretEncoder`]).
pub type SecretData = BTreeMap<String, Bytes>;

/// A serving Secret's PEM chain and key.
pub type ChainAndKey = (Bytes, Bytes);

/// Upstream accepts only these Secret types for certificate material.
pub fn check_type(secret_type: Option<&str>) -> Result<(), String> {
    match secret_type.unwrap_or(SECRET_TYPE_OPAQUE) {
        SECRET_TYPE_TLS | SECRET_TYPE_OPAQUE => Ok(()),
        _ => Err(format!(
            "secret type is not \"{SECRET_TYPE_TLS}\" or \"{SECRET_TYPE_OPAQUE}\""
        )),
    }
}

/// The PEM sections of `data`, in order. Text outside PEM blocks is ignored, as OpenSSL does.
fn sections(data: &[u8]) -> Result<Vec<(SectionKind, Vec<u8>)>, String> {
    let mut reader = data;
    let mut out = Vec::new();
    loop {
        match pem::from_buf(&mut reader) {
            Ok(Some(section)) => out.push(section),
            Ok(None) => return Ok(out),
            Err(e) => return Err(format!("failed to parse PEM block: {e}")),
        }
    }
}

fn kind_name(kind: SectionKind) -> String {
    format!("{kind:?}")
}

/// A serving certificate chain: PEM certificates only, at least one, the first naming a host
/// (CN or SAN). Returns the DER of the first certificate.
pub fn validate_serving_chain(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut first: Option<Vec<u8>> = None;
    for (kind, der) in sections(data)? {
        if kind != SectionKind::Certificate {
            return Err(format!("unexpected block type '{}'", kind_name(kind)));
        }
        let (_, cert) = x509_parser::parse_x509_certificate(&der).map_err(|e| e.to_string())?;
        if first.is_none() {
            if !has_name(&cert) {
                return Err("certificate has no common name or subject alt name".to_string());
            }
            first = Some(der);
        }
    }
    first.ok_or_else(|| "failed to locate certificate".to_string())
}

fn has_name(cert: &x509_parser::certificate::X509Certificate<'_>) -> bool {
    use x509_parser::extensions::GeneralName;
    let cn = cert
        .subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok())
        .any(|cn| !cn.trim().is_empty());
    let san = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .is_some_and(|san| {
            san.value
                .general_names
                .iter()
                .any(|n| matches!(n, GeneralName::DNSName(_) | GeneralName::IPAddress(_)))
        });
    cn || san
}

/// A private key: exactly one PKCS#1, PKCS#8 or SEC1 key that the crypto library accepts.
pub fn validate_private_key(data: &[u8]) -> Result<PrivateKeyDer<'static>, String> {
    let mut keys = Vec::new();
    for (kind, der) in sections(data)? {
        let key = match kind {
            SectionKind::RsaPrivateKey => PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der)),
            SectionKind::PrivateKey => PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der)),
            SectionKind::EcPrivateKey => PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(der)),
            other => return Err(format!("unexpected block type '{}'", kind_name(other))),
        };
        keys.push(key);
    }
    match keys.len() {
        0 => Err("failed to locate private key".to_string()),
        1 => {
            let key = keys.remove(0);
            rustls::crypto::ring::sign::any_supported_type(&key).map_err(|e| e.to_string())?;
            Ok(key)
        }
        _ => Err("multiple private keys".to_string()),
    }
}

/// Whether `key` is the private key of the certificate `cert_der`.
fn key_matches(cert_der: &[u8], key: &PrivateKeyDer<'_>) -> bool {
    let Ok(signing) = rustls::crypto::ring::sign::any_supported_type(key) else {
        return false;
    };
    let Some(public) = signing.public_key() else {
        return false;
    };
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(cert_der) else {
        return false;
    };
    cert.tbs_certificate.subject_pki.raw == public.as_ref()
}

/// A serving Secret (`tls.crt` + `tls.key`), with upstream's messages. Returns the PEM chain
/// and key as stored, shared with `data`.
///
/// Checking that a key matches its certificate costs a private-key parse (a fraction of a
/// millisecond for RSA), and every build checks every serving Secret: the outcome is remembered
/// by a SHA-256 digest of the type, chain and key, so each distinct Secret is checked once.
pub fn validate_tls_secret(
    secret_type: Option<&str>,
    data: &SecretData,
) -> Result<ChainAndKey, String> {
    let digest = tls_digest(secret_type, data);
    if let Some(outcome) = remembered(&digest) {
        return outcome.map(|()| tls_parts(data));
    }
    let outcome = check_tls_secret(secret_type, data);
    remember(digest, outcome.as_ref().map(|_| ()).map_err(Clone::clone));
    outcome
}

/// Outcomes of [`check_tls_secret`] by [`tls_digest`]; forgotten wholesale past a bound.
static OUTCOMES: LazyLock<Mutex<Outcomes>> = LazyLock::new(|| Mutex::new(HashMap::new()));
type Outcomes = HashMap<[u8; 32], Result<(), String>>;
const MAX_OUTCOMES: usize = 100_000;

fn remembered(digest: &[u8; 32]) -> Option<Result<(), String>> {
    OUTCOMES.lock().ok()?.get(digest).cloned()
}

fn remember(digest: [u8; 32], outcome: Result<(), String>) {
    if let Ok(mut m) = OUTCOMES.lock() {
        if m.len() >= MAX_OUTCOMES {
            m.clear();
        }
        m.insert(digest, outcome);
    }
}

fn tls_digest(secret_type: Option<&str>, data: &SecretData) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [
        secret_type.map(str::as_bytes),
        data.get(TLS_CERT_KEY).map(|v| &**v),
        data.get(TLS_KEY_KEY).map(|v| &**v),
    ] {
        // Presence and length first, so that no two inputs give the same byte stream.
        match part {
            Some(bytes) => {
                h.update([1]);
                h.update((bytes.len() as u64).to_le_bytes());
                h.update(bytes);
            }
            None => h.update([0]),
        }
    }
    h.finalize().into()
}

fn tls_parts(data: &SecretData) -> ChainAndKey {
    let get = |k: &str| data.get(k).cloned().unwrap_or_default();
    (get(TLS_CERT_KEY), get(TLS_KEY_KEY))
}

fn check_tls_secret(secret_type: Option<&str>, data: &SecretData) -> Result<ChainAndKey, String> {
    check_type(secret_type)?;
    let chain = data
        .get(TLS_CERT_KEY)
        .ok_or_else(|| "missing TLS certificate".to_string())?;
    let leaf =
        validate_serving_chain(chain).map_err(|e| format!("invalid TLS certificate: {e}"))?;
    let key = data
        .get(TLS_KEY_KEY)
        .ok_or_else(|| "missing TLS private key".to_string())?;
    let parsed = validate_private_key(key).map_err(|e| format!("invalid TLS private key: {e}"))?;
    if !key_matches(&leaf, &parsed) {
        return Err("TLS private key does not match the certificate".to_string());
    }
    Ok((chain.clone(), key.clone()))
}

/// A CA bundle (`ca.crt`): at least one parseable PEM certificate.
pub fn validate_ca_secret(secret_type: Option<&str>, data: &SecretData) -> Result<Vec<u8>, String> {
    check_type(secret_type)?;
    let ca = data
        .get(CA_CERT_KEY)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("empty \"{CA_CERT_KEY}\" key"))?;
    validate_ca_bundle(ca).map_err(|e| format!("invalid CA certificate bundle: {e}"))?;
    Ok(ca.to_vec())
}

fn validate_ca_bundle(data: &[u8]) -> Result<(), String> {
    let mut found = false;
    for (kind, der) in sections(data)? {
        if kind != SectionKind::Certificate {
            return Err(format!("unexpected block type '{}'", kind_name(kind)));
        }
        x509_parser::parse_x509_certificate(&der).map_err(|e| e.to_string())?;
        found = true;
    }
    found
        .then_some(())
        .ok_or_else(|| "failed to locate certificate".to_string())
}

/// A CRL bundle (`crl.pem`): at least one parseable PEM `X509 CRL`.
pub fn validate_crl_secret(
    secret_type: Option<&str>,
    data: &SecretData,
) -> Result<Vec<u8>, String> {
    check_type(secret_type)?;
    let crl = data
        .get(CRL_KEY)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("empty \"{CRL_KEY}\" key"))?;
    let mut found = false;
    for (kind, der) in sections(crl)? {
        if kind != SectionKind::Crl {
            return Err(format!("unexpected block type '{}'", kind_name(kind)));
        }
        x509_parser::parse_x509_crl(&der).map_err(|e| format!("invalid CRL: {e}"))?;
        found = true;
    }
    if !found {
        return Err("failed to locate CRL".to_string());
    }
    Ok(crl.to_vec())
}
