use contour_testkit::certs::{TestCa, pem_secret_yaml, tls_secret_yaml};
use rstest::rstest;

use super::validate::{SecretData, validate_tls_secret};
use super::*;
use crate::testutil::{cache_with, obj};

fn data(pairs: &[(&str, &str)]) -> SecretData {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), bytes::Bytes::copy_from_slice(v.as_bytes())))
        .collect()
}

#[test]
fn valid_tls_secret_round_trips() {
    let ca = TestCa::new("ca");
    let leaf = ca.leaf("a.example.com", &["a.example.com"]);
    let d = data(&[("tls.crt", &leaf.cert_pem), ("tls.key", &leaf.key_pem)]);
    let (chain, key) = validate_tls_secret(Some("kubernetes.io/tls"), &d).unwrap();
    assert_eq!(&*chain, leaf.cert_pem.as_bytes());
    assert_eq!(&*key, leaf.key_pem.as_bytes());
}

#[rstest]
#[case::wrong_type(
    Some("kubernetes.io/service-account-token"),
    "both",
    "secret type is not \"kubernetes.io/tls\" or \"Opaque\""
)]
#[case::missing_cert(Some("kubernetes.io/tls"), "key-only", "missing TLS certificate")]
#[case::missing_key(Some("kubernetes.io/tls"), "cert-only", "missing TLS private key")]
#[case::bad_pem(
    Some("kubernetes.io/tls"),
    "garbage-cert",
    "invalid TLS certificate: failed to locate certificate"
)]
#[case::key_mismatch(
    Some("Opaque"),
    "mismatch",
    "TLS private key does not match the certificate"
)]
#[case::key_in_cert(
    Some("kubernetes.io/tls"),
    "key-as-cert",
    "invalid TLS certificate: unexpected block type"
)]
fn invalid_tls_secrets(#[case] ty: Option<&str>, #[case] shape: &str, #[case] want: &str) {
    let ca = TestCa::new("ca");
    let leaf = ca.leaf("a", &["a.example.com"]);
    let other = ca.leaf("b", &["b.example.com"]);
    let d = match shape {
        "both" => data(&[("tls.crt", &leaf.cert_pem), ("tls.key", &leaf.key_pem)]),
        "key-only" => data(&[("tls.key", &leaf.key_pem)]),
        "cert-only" => data(&[("tls.crt", &leaf.cert_pem)]),
        "garbage-cert" => data(&[("tls.crt", "not pem"), ("tls.key", &leaf.key_pem)]),
        "mismatch" => data(&[("tls.crt", &leaf.cert_pem), ("tls.key", &other.key_pem)]),
        "key-as-cert" => data(&[("tls.crt", &leaf.key_pem), ("tls.key", &leaf.key_pem)]),
        _ => unreachable!(),
    };
    let err = validate_tls_secret(ty, &d).unwrap_err();
    assert!(err.starts_with(want), "{err}");
}

fn delegation(ns: &str, secret: &str, targets: &str) -> crate::Object {
    obj(&format!(
        "apiVersion: projectcontour.io/v1\nkind: TLSCertificateDelegation\nmetadata: {{name: d-{secret}, namespace: {ns}}}\nspec:\n  delegations:\n  - {{secretName: {secret}, targetNamespaces: {targets}}}\n"
    ))
}

#[test]
fn delegation_rules() {
    let ca = TestCa::new("ca");
    let leaf = ca.leaf("a", &["a.example.com"]);
    let cache = cache_with([
        obj(&tls_secret_yaml("certs", "shared", &leaf)),
        obj(&tls_secret_yaml("certs", "star", &leaf)),
        obj(&tls_secret_yaml("certs", "private", &leaf)),
        delegation("certs", "shared", "[team]"),
        delegation("certs", "star", "['*']"),
        // A delegation in another namespace grants nothing for certs/private.
        delegation("team", "private", "[team]"),
    ]);
    assert!(tls_secret(&cache, "certs", "shared", "team").is_ok());
    assert_eq!(
        tls_secret(&cache, "certs", "shared", "other"),
        Err(SecretError::NotDelegated)
    );
    assert!(tls_secret(&cache, "certs", "star", "anyone").is_ok());
    assert_eq!(
        tls_secret(&cache, "certs", "private", "team"),
        Err(SecretError::NotDelegated)
    );
    // Same namespace never needs a delegation.
    assert!(tls_secret(&cache, "certs", "private", "certs").is_ok());
    assert_eq!(
        tls_secret(&cache, "certs", "missing", "certs"),
        Err(SecretError::NotFound)
    );
}

#[test]
fn ca_and_crl_bundles() {
    let ca = TestCa::new("ca");
    let leaf = ca.leaf("a", &["a.example.com"]);
    let crl_pem = ca.crl(&[&leaf]);
    let cache = cache_with([
        obj(&pem_secret_yaml("default", "ca", "ca.crt", &ca.cert_pem)),
        obj(&pem_secret_yaml("default", "crl", "crl.pem", &crl_pem)),
        obj(&pem_secret_yaml(
            "default",
            "notca",
            "ca.crt",
            "nothing here",
        )),
    ]);
    assert_eq!(
        ca_bundle(&cache, "default", "ca", "default").unwrap(),
        ca.cert_pem.as_bytes()
    );
    assert!(crl(&cache, "default", "crl", "default").is_ok());
    let err = ca_bundle(&cache, "default", "notca", "default").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid CA certificate bundle: failed to locate certificate"
    );
    let err = crl(&cache, "default", "ca", "default").unwrap_err();
    assert_eq!(err.to_string(), "empty \"crl.pem\" key");
}

#[test]
fn unrelated_secret_types_lose_their_data() {
    let cache = cache_with([obj(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: token, namespace: default}\ntype: kubernetes.io/service-account-token\nstringData: {token: abc}\n",
    )]);
    let key = ("default".to_string(), "token".to_string());
    assert!(!cache.secrets.contains_key(&key));
    assert_eq!(
        cache.bare_secrets.get("default", "token"),
        Some(Some("kubernetes.io/service-account-token"))
    );
    // A reference to it still gets the type error.
    let err = tls_secret_insecure(&cache, "default", "token").unwrap_err();
    assert!(err.to_string().contains("secret type is not"), "{err}");
}

#[test]
fn a_serving_certificate_shares_the_cached_bytes() {
    let ca = TestCa::new("ca");
    let leaf = ca.leaf("a.example.com", &["a.example.com"]);
    let cache = cache_with([obj(&tls_secret_yaml("default", "cert", &leaf))]);
    let cached = &cache.secrets[&("default".to_string(), "cert".to_string())].data;
    // Every virtual host using it holds the cache's bytes, not a copy.
    for _ in 0..2 {
        let secret = tls_secret(&cache, "default", "cert", "default").unwrap();
        assert_eq!(secret.cert_chain.as_ptr(), cached["tls.crt"].as_ptr());
        assert_eq!(secret.private_key.as_ptr(), cached["tls.key"].as_ptr());
        assert_eq!(secret.served, None, "no encoder: the translator encodes");
    }
}

/// A stand-in for the translator's encoder: a header, the name, then chain and key.
fn test_encoder(ns: &str, name: &str, chain: &[u8], key: &[u8]) -> crate::cache::EncodedSecret {
    let mut out = format!("{ns}/{name}:").into_bytes();
    let start = out.len();
    out.extend_from_slice(chain);
    let middle = out.len();
    out.extend_from_slice(key);
    let end = out.len();
    crate::cache::EncodedSecret {
        bytes: out.into(),
        cert_chain: start..middle,
        private_key: middle..end,
    }
}

#[test]
fn with_an_encoder_the_certificate_is_held_once_in_its_served_form() {
    let ca = TestCa::new("ca");
    let leaf = ca.leaf("a.example.com", &["a.example.com"]);
    let mut cache = Cache::default();
    cache.secret_encoder = Some(test_encoder);
    cache.insert(obj(&tls_secret_yaml("default", "cert", &leaf)));
    let secret = tls_secret(&cache, "default", "cert", "default").unwrap();
    let served = secret.served.clone().expect("encoded on the way in");
    assert!(served.starts_with(b"default/cert:"));
    assert_eq!(&secret.cert_chain[..], leaf.cert_pem.as_bytes());
    assert_eq!(&secret.private_key[..], leaf.key_pem.as_bytes());
    // Chain and key are slices of the served bytes, not copies.
    let inside = |part: &bytes::Bytes| {
        let range = served.as_ptr_range();
        range.contains(&part.as_ptr()) && part.as_ptr_range().end <= range.end
    };
    assert!(inside(&secret.cert_chain) && inside(&secret.private_key));
}
