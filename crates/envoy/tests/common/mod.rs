//! Shared by the `envoy --mode validate` tests: Envoy is found via `ENVOY_BIN` or the
//! repository's `.venv` (installed by `scripts/setup`); the tests fail, rather than skip, when
//! Envoy is missing.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use contour_envoy::{BootstrapConfig, BootstrapMode};
use envoy_types::pb::envoy::config::bootstrap::v3::{Bootstrap, bootstrap::StaticResources};
use envoy_types::pb::envoy::config::cluster::v3::Cluster as EnvoyCluster;
use envoy_types::pb::envoy::config::listener::v3::Listener as EnvoyListener;
use envoy_types::pb::google::protobuf::Any;
use prost::Message;

/// Envoy from `ENVOY_BIN`, the workspace's `.venv` (scripts/setup) or `PATH`.
pub fn envoy_bin() -> PathBuf {
    contour_testkit::envoy_bin().unwrap_or_else(|e| panic!("{e:#}"))
}

/// Runs `envoy --mode validate`; panics with Envoy's output when it rejects the config.
pub fn envoy_validate(args: &[&str]) {
    let out = envoy_validate_output(args);
    assert!(
        out.status.success(),
        "envoy rejected the config:\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn envoy_validate_output(args: &[&str]) -> std::process::Output {
    Command::new(envoy_bin())
        .args([
            "--mode",
            "validate",
            "--log-level",
            "warn",
            "--concurrency",
            "1",
        ])
        // As the deployment does (`--service-cluster $(CONTOUR_NAMESPACE)
        // --service-node $(ENVOY_POD_NAME)`); ADS needs a node id and cluster.
        .args([
            "--service-cluster",
            "projectcontour",
            "--service-node",
            "envoy-test",
        ])
        .args(args)
        .output()
        .expect("run envoy")
}

pub fn write_json(dir: &Path, name: &str, v: &serde_json::Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    p
}

pub fn base_config(dir: &Path, mode: BootstrapMode) -> BootstrapConfig {
    BootstrapConfig {
        admin_address: dir.join("admin.sock").to_string_lossy().into_owned(),
        mode,
        ..Default::default()
    }
}

/// Every resource of one type, decoded.
pub fn decode_all<T: Message + Default>(resources: &BTreeMap<String, Any>) -> Vec<T> {
    resources
        .values()
        .map(|a| T::decode(a.value.as_slice()).expect("decode"))
        .collect()
}

/// Writes listeners and clusters as a static bootstrap (binary proto) to `dir/resources.pb`.
pub fn write_static(
    dir: &Path,
    listeners: Vec<EnvoyListener>,
    clusters: Vec<EnvoyCluster>,
) -> PathBuf {
    let static_part = Bootstrap {
        static_resources: Some(StaticResources {
            listeners,
            clusters,
            ..Default::default()
        }),
        ..Default::default()
    };
    let pb = dir.join("resources.pb");
    std::fs::write(&pb, static_part.encode_to_vec()).expect("write resources.pb");
    pb
}
