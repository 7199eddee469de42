//! `spec.virtualhost.tls` of a root HTTPProxy → the secure virtual host's TLS settings.
//!
//! Everything is checked before anything is added to the DAG: a proxy with any TLS error
//! serves nothing at all (upstream's rule), so a half-configured host never reaches Envoy.

use contour_api::v1::{DownstreamValidation, TLS};

use crate::cache::CachedProxy;

use crate::builder::BuildConfig;
use crate::cache::Cache;
use crate::model::{ClientValidation, ForwardClientCertificate, SecureVirtualHost, TlsVersion};
use crate::status::error_type;
use crate::tls::{self, SecretError, secret_ref};

/// A TLS error: `(reason, message)`, reported with type `TLSError`.
pub type TlsError = (&'static str, String);

/// What the root's TLS stanza asks for.
#[derive(Debug)]
pub enum RootTls {
    /// No `tls` stanza.
    None,
    /// `passthrough: true`: the stream is forwarded by SNI, still encrypted.
    Passthrough,
    /// TLS terminated with this (not yet inserted) secure virtual host.
    Terminate(Box<SecureVirtualHost>),
}

fn blank(s: Option<&str>) -> bool {
    s.is_none_or(|s| s.trim().is_empty())
}

/// Validates the root's TLS stanza and resolves its certificates. `Err` means the proxy is
/// invalid and must serve nothing.
pub fn root_tls(
    cache: &Cache,
    cfg: &BuildConfig,
    proxy: &CachedProxy,
    fqdn: &str,
    errors: &mut Vec<TlsError>,
) -> Result<RootTls, ()> {
    let Some(tls) = proxy.spec.virtualhost.as_ref().and_then(|v| v.tls.as_ref()) else {
        return Ok(RootTls::None);
    };
    let passthrough = tls.passthrough == Some(true);
    let fallback = tls.enable_fallback_certificate == Some(true);
    if passthrough && fallback {
        errors.push((
            "TLSIncompatibleFeatures",
            "Spec.VirtualHost.TLS: both Passthrough and enableFallbackCertificate were specified"
                .to_string(),
        ));
    }
    let shape_error = match (blank(tls.secret_name.as_deref()), passthrough) {
        (false, true) => {
            Some("Spec.VirtualHost.TLS: both Passthrough and SecretName were specified")
        }
        (true, false) => {
            Some("Spec.VirtualHost.TLS: neither Passthrough nor SecretName were specified")
        }
        _ => None,
    };
    if let Some(msg) = shape_error {
        errors.push(("TLSConfigNotValid", msg.to_string()));
        return Err(());
    }
    if passthrough && tls.client_validation.is_some() {
        errors.push((
            "TLSIncompatibleFeatures",
            "Spec.VirtualHost.TLS passthrough cannot be combined with tls.clientValidation"
                .to_string(),
        ));
        return Err(());
    }
    if !errors.is_empty() {
        return Err(());
    }
    if passthrough {
        return Ok(RootTls::Passthrough);
    }
    terminate(cache, cfg, proxy, tls, fqdn)
        .map(|svh| RootTls::Terminate(Box::new(svh)))
        .map_err(|e| errors.push(e))
}

fn terminate(
    cache: &Cache,
    cfg: &BuildConfig,
    proxy: &CachedProxy,
    tls: &TLS,
    fqdn: &str,
) -> Result<SecureVirtualHost, TlsError> {
    let ns = proxy.metadata.namespace.as_deref().unwrap_or_default();
    let reference = tls.secret_name.as_deref().unwrap_or_default();
    let (secret_ns, secret_name) = secret_ref(reference, ns);
    let secret = tls::tls_secret(cache, &secret_ns, &secret_name, ns).map_err(|e| match e {
        SecretError::NotDelegated => (
            "DelegationNotPermitted",
            format!(
                "Spec.VirtualHost.TLS Secret \"{reference}\" certificate delegation not permitted"
            ),
        ),
        e => (
            "SecretNotValid",
            format!("Spec.VirtualHost.TLS Secret \"{reference}\" is invalid: {e}"),
        ),
    })?;
    let min = TlsVersion::parse_or(tls.minimum_protocol_version.as_deref(), TlsVersion::V1_2);
    let max = TlsVersion::parse_or(tls.maximum_protocol_version.as_deref(), TlsVersion::V1_3);
    if max < min {
        return Err((
            "TLSConfigNotValid",
            "Spec.Virtualhost.TLS the minimum protocol version is greater than the maximum protocol version".to_string(),
        ));
    }
    let mut svh = SecureVirtualHost::new(fqdn);
    svh.secret = Some(secret);
    svh.min_tls_version = min;
    svh.max_tls_version = max;
    if tls.enable_fallback_certificate == Some(true) {
        svh.fallback_certificate = Some(fallback(cache, cfg, proxy, tls, ns)?);
    }
    if let Some(cv) = &tls.client_validation {
        svh.client_validation = Some(client_validation(cache, cv, ns)?);
    }
    Ok(svh)
}

fn fallback(
    cache: &Cache,
    cfg: &BuildConfig,
    proxy: &CachedProxy,
    tls: &TLS,
    ns: &str,
) -> Result<crate::model::Secret, TlsError> {
    if tls.client_validation.is_some() {
        return Err((
            "TLSIncompatibleFeatures",
            "Spec.Virtualhost.TLS fallback & client validation are incompatible".to_string(),
        ));
    }
    let vhost = proxy.spec.virtualhost.as_ref();
    if vhost.is_some_and(|v| v.authorization.is_some()) {
        return Err((
            "TLSIncompatibleFeatures",
            "Spec.Virtualhost.TLS fallback & client authorization are incompatible".to_string(),
        ));
    }
    if vhost.is_some_and(|v| !v.jwt_providers.is_empty()) {
        return Err((
            "TLSIncompatibleFeatures",
            "Spec.Virtualhost.TLS fallback & JWT providers are incompatible".to_string(),
        ));
    }
    let Some((fb_ns, fb_name)) = &cfg.fallback_certificate else {
        return Err((
            "FallbackNotPresent",
            "Spec.Virtualhost.TLS enabled fallback but the fallback Certificate Secret is not configured in Contour configuration file".to_string(),
        ));
    };
    tls::tls_secret(cache, fb_ns, fb_name, ns).map_err(|e| match e {
        SecretError::NotDelegated => (
            "FallbackNotDelegated",
            format!("Spec.VirtualHost.TLS Secret \"{fb_ns}/{fb_name}\" is not configured for certificate delegation"),
        ),
        e => (
            "FallbackNotValid",
            format!("Spec.Virtualhost.TLS Secret \"{fb_ns}/{fb_name}\" fallback certificate is invalid: {e}"),
        ),
    })
}

fn client_validation(
    cache: &Cache,
    cv: &DownstreamValidation,
    ns: &str,
) -> Result<ClientValidation, TlsError> {
    let skip = cv.skip_client_cert_validation == Some(true);
    let mut out = ClientValidation {
        optional: cv.optional_client_certificate == Some(true),
        skip_verification: skip,
        crl_only_leaf: cv.crl_only_verify_leaf_cert == Some(true),
        forward: cv
            .forward_client_certificate
            .as_ref()
            .map(|f| ForwardClientCertificate {
                subject: f.subject == Some(true),
                cert: f.cert == Some(true),
                chain: f.chain == Some(true),
                dns: f.dns == Some(true),
                uri: f.uri == Some(true),
            }),
        ..Default::default()
    };
    match cv.ca_secret.as_deref().filter(|s| !s.is_empty()) {
        Some(reference) => {
            let (ca_ns, ca_name) = secret_ref(reference, ns);
            let ca = tls::ca_bundle(cache, &ca_ns, &ca_name, ns)
                .map_err(|e| secret_problem(e, "CA", reference, &ca_ns, &ca_name))?;
            out.ca = Some(ca);
        }
        None if !skip => {
            return Err((
                "ClientValidationInvalid",
                "Spec.VirtualHost.TLS client validation is invalid: CA Secret must be specified"
                    .to_string(),
            ));
        }
        None => {}
    }
    if let Some(reference) = cv.crl_secret.as_deref().filter(|s| !s.is_empty()) {
        let (crl_ns, crl_name) = secret_ref(reference, ns);
        let crl = tls::crl(cache, &crl_ns, &crl_name, ns)
            .map_err(|e| secret_problem(e, "CRL", reference, &crl_ns, &crl_name))?;
        out.crl = Some(crl);
    }
    Ok(out)
}

fn secret_problem(e: SecretError, what: &str, reference: &str, ns: &str, name: &str) -> TlsError {
    match e {
        SecretError::NotDelegated => (
            "DelegationNotPermitted",
            format!("Spec.VirtualHost.TLS {what} Secret \"{reference}\" is invalid: {e}"),
        ),
        e => (
            "ClientValidationInvalid",
            format!(
                "Spec.VirtualHost.TLS client validation is invalid: invalid {what} Secret \"{ns}/{name}\": {e}"
            ),
        ),
    }
}

/// Type of every error [`root_tls`] reports.
pub const TLS_ERROR_TYPE: &str = error_type::TLS;
