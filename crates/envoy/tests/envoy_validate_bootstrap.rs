//! Real Envoy (`--mode validate`) accepts our bootstraps: ADS and per-type, plain and mTLS, with
//! and without SDS files.

mod common;

use std::path::Path;

use common::{base_config, envoy_validate, write_json};
use contour_envoy::{BootstrapMode, XdsTls, bootstrap_json, bootstrap_sds_files};

#[test]
fn envoy_accepts_bootstrap_in_both_modes() {
    for mode in [BootstrapMode::Ads, BootstrapMode::PerType] {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = base_config(dir.path(), mode);
        cfg.xds_address = "contour.projectcontour".into();
        cfg.dns_lookup_family = "v4".parse().unwrap();
        let p = write_json(dir.path(), "envoy.json", &bootstrap_json(&cfg).unwrap());
        envoy_validate(&["-c", p.to_str().unwrap()]);
    }
}

/// A throwaway self-signed P-256 certificate (CN/SAN `envoy`, valid until 2126) and its key,
/// used only so Envoy can load the files; it protects nothing.
const TEST_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBiTCCAS+gAwIBAgIUa1tFDIqWf8+c42cw+yB2Vtj92hIwCgYIKoZIzj0EAwIw
EDEOMAwGA1UEAwwFZW52b3kwIBcNMjYxMTIyMDUyODUwWhgPMjEyNjEwMjkwNTI4
NTBaMBAxDjAMBgNVBAMMBWVudm95MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
+pwDswWW25Hd5IwMJVNXTPCmEFslALDOx1TbhPaPf6AonlLq2nFgLxSzyB0CDERG
f9kDBmbWPU2sY+q5yjkwcKNlMGMwHQYDVR0OBBYEFDKTA9Jl0obiDjP1iz02eR7Q
gY9uMB8GA1UdIwQYMBaAFDKTA9Jl0obiDjP1iz02eR7QgY9uMA8GA1UdEwEB/wQF
MAMBAf8wEAYDVR0RBAkwB4IFZW52b3kwCgYIKoZIzj0EAwIDSAAwRQIgXbMtzca5
YUfzHrGvFLCEgmJEsWFhIuzT3adUZF66vw8CIQD4/Eoje9dpKBf6Ia6+8Nz6Zq5m
wFU33A6WXGNx9uSgbA==
-----END CERTIFICATE-----\n";
const TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgZJqXRrsD3/jH/sM2
7veWUFU4w71U60dkppzSWc2EOxWhRANCAAT6nAOzBZbbkd3kjAwlU1dM8KYQWyUA
sM7HVNuE9o9/oCieUuracWAvFLPIHQIMREZ/2QMGZtY9Taxj6rnKOTBw
-----END PRIVATE KEY-----\n";

fn tls_files(dir: &Path) -> XdsTls {
    let f = |n: &str, text: &str| {
        let p = dir.join(n);
        std::fs::write(&p, text).unwrap();
        p
    };
    XdsTls {
        ca_file: f("ca.crt", TEST_CERT),
        cert_file: f("tls.crt", TEST_CERT),
        key_file: f("tls.key", TEST_KEY),
    }
}

#[test]
fn envoy_accepts_tls_bootstraps() {
    for with_sds in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = base_config(dir.path(), BootstrapMode::Ads);
        cfg.tls = Some(tls_files(dir.path()));
        if with_sds {
            cfg.resources_dir = Some(dir.path().join("resources"));
            std::fs::create_dir_all(dir.path().join("resources/sds")).unwrap();
            for (path, text) in bootstrap_sds_files(&cfg).unwrap() {
                std::fs::write(path, text).unwrap();
            }
        }
        let p = write_json(dir.path(), "envoy.json", &bootstrap_json(&cfg).unwrap());
        envoy_validate(&["-c", p.to_str().unwrap()]);
    }
}
