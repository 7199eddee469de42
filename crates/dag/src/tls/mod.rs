//! Certificate lookups with delegation: the only way a processor gets Secret material.
//!
//! A Secret in another namespace is usable only when a TLSCertificateDelegation in the
//! Secret's namespace names it for the referring namespace (or `*`). Material comes back
//! validated; anything else is an error the processor turns into status.

pub mod validate;

use std::fmt;

use crate::cache::{Cache, SecretEntry};
use crate::model::Secret;
use bytes::Bytes;
use validate::SecretData;

/// Why a Secret reference cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretError {
    /// Cross-namespace reference without a matching TLSCertificateDelegation.
    NotDelegated,
    NotFound,
    Invalid(String),
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretError::NotDelegated => f.write_str("certificate delegation not permitted"),
            SecretError::NotFound => f.write_str("Secret not found"),
            SecretError::Invalid(e) => f.write_str(e),
        }
    }
}

/// `(namespace, name)` of a Secret reference: `ns/name`, or `name` in `default_ns`.
pub fn secret_ref(reference: &str, default_ns: &str) -> (String, String) {
    match reference.split_once('/') {
        Some((ns, name)) => (ns.to_string(), name.to_string()),
        None => (default_ns.to_string(), reference.to_string()),
    }
}

/// Whether the Secret `ns/name` may be used by objects in `target_ns`.
pub fn delegation_permitted(cache: &Cache, ns: &str, name: &str, target_ns: &str) -> bool {
    if ns == target_ns {
        return true;
    }
    let delegations = cache
        .delegations_in(ns)
        .flat_map(|d| d.spec.delegations.iter());
    delegations.filter(|d| d.secret_name == name).any(|d| {
        let targets = &d.target_namespaces;
        (targets.len() == 1 && targets[0] == "*") || targets.iter().any(|t| t == target_ns)
    })
}

/// No data: what a Secret without certificate material offers.
static NO_DATA: SecretData = SecretData::new();

/// A Secret's type, data and served form (see [`crate::cache::SecretEncoder`]).
type SecretParts<'a> = (Option<&'a str>, &'a SecretData, Option<&'a Bytes>);

fn secret_parts<'a>(
    cache: &'a Cache,
    ns: &str,
    name: &str,
) -> Result<SecretParts<'a>, SecretError> {
    match cache.secret_entry(ns, name).ok_or(SecretError::NotFound)? {
        SecretEntry::Full(s) => Ok((s.type_.as_deref(), &s.data, s.served.as_ref())),
        // A Secret without certificate material is kept as its type alone.
        SecretEntry::Bare(ty) => Ok((ty, &NO_DATA, None)),
    }
}

fn permitted(cache: &Cache, ns: &str, name: &str, target_ns: &str) -> Result<(), SecretError> {
    if delegation_permitted(cache, ns, name, target_ns) {
        Ok(())
    } else {
        Err(SecretError::NotDelegated)
    }
}

/// A serving certificate for an object in `target_ns`.
pub fn tls_secret(
    cache: &Cache,
    ns: &str,
    name: &str,
    target_ns: &str,
) -> Result<Secret, SecretError> {
    permitted(cache, ns, name, target_ns)?;
    tls_secret_insecure(cache, ns, name)
}

/// A serving certificate named by the operator (configuration file): no delegation needed.
pub fn tls_secret_insecure(cache: &Cache, ns: &str, name: &str) -> Result<Secret, SecretError> {
    let (ty, data, served) = secret_parts(cache, ns, name)?;
    let (cert_chain, private_key) =
        validate::validate_tls_secret(ty, data).map_err(SecretError::Invalid)?;
    Ok(Secret {
        namespace: ns.to_string(),
        name: name.to_string(),
        cert_chain,
        private_key,
        served: served.cloned(),
    })
}

/// The `ca.crt` bundle of a Secret, for an object in `target_ns`.
pub fn ca_bundle(
    cache: &Cache,
    ns: &str,
    name: &str,
    target_ns: &str,
) -> Result<Vec<u8>, SecretError> {
    permitted(cache, ns, name, target_ns)?;
    let (ty, data, _) = secret_parts(cache, ns, name)?;
    validate::validate_ca_secret(ty, data).map_err(SecretError::Invalid)
}

/// The `crl.pem` of a Secret, for an object in `target_ns`.
pub fn crl(cache: &Cache, ns: &str, name: &str, target_ns: &str) -> Result<Vec<u8>, SecretError> {
    permitted(cache, ns, name, target_ns)?;
    let (ty, data, _) = secret_parts(cache, ns, name)?;
    validate::validate_crl_secret(ty, data).map_err(SecretError::Invalid)
}

#[cfg(test)]
mod tests;
