//! examples/contour/0*.yaml, the deployment manifests: every document decodes into its
//! Kubernetes type without losing a field (a typo'd or misplaced key fails), the CRDs match the
//! generator, contour.yaml parses, and every `contour` command line parses with this binary.

use std::path::{Path, PathBuf};

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, Namespace, PodSpec, Service, ServiceAccount,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/contour")
}

/// The deployment manifests (numbered files; the other files are contour.yaml samples).
fn manifest_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .expect("examples/contour")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('0') && n.ends_with(".yaml"))
        })
        .collect();
    files.sort();
    files
}

fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("read manifest");
    text.split("\n---")
        .filter(|d| {
            d.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        })
        .map(|d| serde_norway::from_str(d).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

/// Null-valued keys are dropped on the way back out; compare without them.
fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Decodes `doc` as `T` and checks that encoding it again gives the same document.
fn round_trip<T: DeserializeOwned + Serialize>(doc: &Value, what: &str) -> T {
    let typed: T = serde_json::from_value(doc.clone()).unwrap_or_else(|e| panic!("{what}: {e}"));
    let back = serde_json::to_value(&typed).expect("encode");
    assert!(
        without_nulls(&back) == without_nulls(doc),
        "{what}: a field was lost or mistyped\nre-encoded: {back:#}"
    );
    typed
}

fn pod_spec(doc: &Value, what: &str) -> Option<PodSpec> {
    match doc["kind"].as_str()? {
        "Deployment" => round_trip::<Deployment>(doc, what).spec?.template.spec,
        "DaemonSet" => round_trip::<DaemonSet>(doc, what).spec?.template.spec,
        "Job" => round_trip::<Job>(doc, what).spec?.template.spec,
        _ => None,
    }
}

#[test]
fn every_manifest_decodes_into_its_kubernetes_type() {
    let mut kinds = Vec::new();
    for file in manifest_files() {
        for doc in documents(&file) {
            let kind = doc["kind"].as_str().unwrap_or_default().to_string();
            let what = format!("{} {kind} {}", file.display(), doc["metadata"]["name"]);
            match kind.as_str() {
                "Namespace" => drop(round_trip::<Namespace>(&doc, &what)),
                "ServiceAccount" => drop(round_trip::<ServiceAccount>(&doc, &what)),
                "ClusterRole" => drop(round_trip::<ClusterRole>(&doc, &what)),
                "ClusterRoleBinding" => drop(round_trip::<ClusterRoleBinding>(&doc, &what)),
                "Role" => drop(round_trip::<Role>(&doc, &what)),
                "RoleBinding" => drop(round_trip::<RoleBinding>(&doc, &what)),
                "Service" => drop(round_trip::<Service>(&doc, &what)),
                // Generated and drift-checked; decoding is enough (numbers re-encode as floats).
                "CustomResourceDefinition" => {
                    serde_json::from_value::<CustomResourceDefinition>(doc.clone())
                        .unwrap_or_else(|e| panic!("{what}: {e}"));
                }
                "ConfigMap" => {
                    let cm = round_trip::<ConfigMap>(&doc, &what);
                    let yaml = cm
                        .data
                        .and_then(|d| d.get("contour.yaml").cloned())
                        .expect("contour.yaml key");
                    contour_api::config::Parameters::parse(&yaml)
                        .unwrap_or_else(|e| panic!("{what}: {e}"));
                }
                "Deployment" | "DaemonSet" | "Job" => assert!(pod_spec(&doc, &what).is_some()),
                other => panic!("{what}: unexpected kind {other}"),
            }
            kinds.push(kind);
        }
    }
    for want in [
        "Namespace",
        "CustomResourceDefinition",
        "ClusterRole",
        "Role",
        "ConfigMap",
        "Deployment",
        "DaemonSet",
        "Service",
        "Job",
    ] {
        assert!(
            kinds.iter().any(|k| k == want),
            "no {want} in examples/contour"
        );
    }
}

#[test]
fn crds_match_the_generated_ones() {
    let examples =
        std::fs::read_to_string(examples_dir().join("01-crds.yaml")).expect("01-crds.yaml");
    let generated = contour_api::crds_yaml();
    if std::env::var_os("UPDATE_CRDS").is_some() {
        std::fs::write(examples_dir().join("01-crds.yaml"), &generated)
            .expect("write 01-crds.yaml");
        return;
    }
    assert!(
        examples == generated,
        "examples/contour/01-crds.yaml is stale: run `UPDATE_CRDS=1 cargo test -p contour --test examples`"
    );
}

fn contour_containers() -> Vec<(String, Container)> {
    let mut out = Vec::new();
    for file in manifest_files() {
        for doc in documents(&file) {
            let what = format!("{} {}", file.display(), doc["metadata"]["name"]);
            let Some(spec) = pod_spec(&doc, &what) else {
                continue;
            };
            for c in spec
                .init_containers
                .unwrap_or_default()
                .into_iter()
                .chain(spec.containers)
            {
                if c.command
                    .as_ref()
                    .is_some_and(|cmd| cmd.first().is_some_and(|b| b.ends_with("contour")))
                {
                    out.push((format!("{what} container {}", c.name), c));
                }
            }
        }
    }
    out
}

/// A command line parses if `--help` after it is reached without an error.
fn parses(args: &[String]) -> Result<(), String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_contour"))
        .args(args)
        .arg("--help")
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn every_contour_command_line_parses() {
    let containers = contour_containers();
    assert!(
        containers.len() >= 4,
        "contour, certgen, bootstrap, shutdown-manager: {}",
        containers.len()
    );
    for (what, c) in containers {
        let mut lines = vec![c.args.clone().unwrap_or_default()];
        if let Some(pre_stop) = c
            .lifecycle
            .and_then(|l| l.pre_stop)
            .and_then(|h| h.exec)
            .and_then(|e| e.command)
        {
            lines.push(pre_stop.into_iter().skip(1).collect());
        }
        for args in lines {
            parses(&args).unwrap_or_else(|e| {
                panic!("{what}: `contour {}` does not parse: {e}", args.join(" "))
            });
        }
    }
}
