//! mTLS from Envoy to the xDS server: inline file paths, or file-based SDS under
//! `<resources-dir>/sds` so Envoy picks up rotated certificates.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{
    BootstrapConfig, BootstrapError, SDS_RESOURCES_SUBDIRECTORY, SDS_TLS_CERTIFICATE_FILE,
    SDS_VALIDATION_CONTEXT_FILE, path_str, validate,
};

/// SDS secret names of the xDS client certificate and the validation context.
pub const XDS_TLS_CERTIFICATE_SECRET: &str = "contour_xds_tls_certificate";
pub const XDS_TLS_VALIDATION_CONTEXT_SECRET: &str = "contour_xds_tls_validation_context";
/// The SAN the xDS server certificate must carry.
pub const XDS_SERVER_SAN: &str = "contour";

const SECRET_TYPE: &str = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
const UPSTREAM_TLS_TYPE: &str =
    "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";

/// Signature algorithms upstream lists for the SDS variant.
const SIGNATURE_ALGORITHMS: &[&str] = &[
    "ecdsa_secp256r1_sha256",
    "rsa_pss_rsae_sha256",
    "rsa_pkcs1_sha256",
    "ecdsa_secp384r1_sha384",
    "rsa_pss_rsae_sha384",
    "rsa_pkcs1_sha384",
    "ecdsa_secp521r1_sha512",
    "rsa_pss_rsae_sha512",
    "rsa_pkcs1_sha512",
    "rsa_pkcs1_sha1",
];

/// The client certificate, key and CA bundle Envoy uses towards the xDS server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XdsTls {
    pub ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

impl XdsTls {
    /// From the three optional CLI values: all three or none (empty counts as absent).
    pub fn from_parts(
        ca_file: Option<PathBuf>,
        cert_file: Option<PathBuf>,
        key_file: Option<PathBuf>,
    ) -> Result<Option<XdsTls>, BootstrapError> {
        let given = |p: Option<PathBuf>| p.filter(|p| !p.as_os_str().is_empty());
        match (given(ca_file), given(cert_file), given(key_file)) {
            (None, None, None) => Ok(None),
            (Some(ca_file), Some(cert_file), Some(key_file)) => Ok(Some(XdsTls {
                ca_file,
                cert_file,
                key_file,
            })),
            _ => Err(BootstrapError::IncompleteTls),
        }
    }

    pub(super) fn validate(&self) -> Result<(), BootstrapError> {
        for p in [&self.ca_file, &self.cert_file, &self.key_file] {
            if p.as_os_str().is_empty() {
                return Err(BootstrapError::IncompleteTls);
            }
            path_str(p)?;
        }
        Ok(())
    }
}

/// Upstream also requires the three files to exist and be non-empty. This is the only
/// function here that touches the file system (metadata only).
pub fn check_tls_files(tls: &XdsTls) -> Result<(), BootstrapError> {
    for p in [&tls.cert_file, &tls.key_file, &tls.ca_file] {
        let meta = std::fs::metadata(p).map_err(|e| BootstrapError::UnreadableTlsFile {
            path: p.clone(),
            reason: e.to_string(),
        })?;
        if meta.len() == 0 {
            return Err(BootstrapError::EmptyTlsFile(p.clone()));
        }
    }
    Ok(())
}

fn sds_paths(dir: &Path) -> (PathBuf, PathBuf) {
    let sds = dir.join(SDS_RESOURCES_SUBDIRECTORY);
    (
        sds.join(SDS_TLS_CERTIFICATE_FILE),
        sds.join(SDS_VALIDATION_CONTEXT_FILE),
    )
}

/// The `transport_socket` of the `contour` cluster.
pub(super) fn xds_transport_socket(
    tls: &XdsTls,
    resources_dir: Option<&Path>,
) -> Result<Value, BootstrapError> {
    let common = match resources_dir {
        None => json!({
            "tls_params": { "tls_maximum_protocol_version": "TLSv1_3" },
            "tls_certificates": [tls_certificate(tls)?],
            "validation_context": validation_context(tls)?
        }),
        Some(dir) => {
            let (cert, validation) = sds_paths(dir);
            json!({
                "tls_params": {
                    "tls_maximum_protocol_version": "TLSv1_3",
                    "signature_algorithms": SIGNATURE_ALGORITHMS
                },
                "tls_certificate_sds_secret_configs": [
                    sds_secret_config(XDS_TLS_CERTIFICATE_SECRET, &cert)?
                ],
                "validation_context_sds_secret_config":
                    sds_secret_config(XDS_TLS_VALIDATION_CONTEXT_SECRET, &validation)?
            })
        }
    };
    Ok(json!({
        "name": "envoy.transport_sockets.tls",
        "typed_config": { "@type": UPSTREAM_TLS_TYPE, "common_tls_context": common }
    }))
}

fn sds_secret_config(name: &str, path: &Path) -> Result<Value, BootstrapError> {
    Ok(json!({
        "name": name,
        "sds_config": {
            "resource_api_version": "V3",
            "path_config_source": { "path": path_str(path)? }
        }
    }))
}

fn tls_certificate(tls: &XdsTls) -> Result<Value, BootstrapError> {
    Ok(json!({
        "certificate_chain": { "filename": path_str(&tls.cert_file)? },
        "private_key": { "filename": path_str(&tls.key_file)? }
    }))
}

fn validation_context(tls: &XdsTls) -> Result<Value, BootstrapError> {
    Ok(json!({
        "trusted_ca": { "filename": path_str(&tls.ca_file)? },
        "match_typed_subject_alt_names": [
            { "san_type": "DNS", "matcher": { "exact": XDS_SERVER_SAN } }
        ]
    }))
}

/// The SDS files Envoy watches when both TLS and a resources directory are configured, as
/// `(path, JSON text)`; empty otherwise. The caller creates `<dir>/sds` and writes them.
pub fn bootstrap_sds_files(
    cfg: &BootstrapConfig,
) -> Result<Vec<(PathBuf, String)>, BootstrapError> {
    validate(cfg)?;
    let (Some(tls), Some(dir)) = (&cfg.tls, &cfg.resources_dir) else {
        return Ok(Vec::new());
    };
    let (cert_path, validation_path) = sds_paths(dir);
    let mut cert = json!({ "@type": SECRET_TYPE, "name": XDS_TLS_CERTIFICATE_SECRET });
    cert["tls_certificate"] = tls_certificate(tls)?;
    let mut validation = json!({ "@type": SECRET_TYPE, "name": XDS_TLS_VALIDATION_CONTEXT_SECRET });
    validation["validation_context"] = validation_context(tls)?;
    let render = |secret: Value| {
        // A Value always serialises.
        serde_json::to_string_pretty(&json!({ "resources": [secret] })).unwrap_or_default()
    };
    Ok(vec![
        (cert_path, render(cert)),
        (validation_path, render(validation)),
    ])
}
