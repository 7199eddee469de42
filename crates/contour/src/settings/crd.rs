//! `--contour-config-name`: the ContourConfiguration read once at startup, as upstream does:
//! from the API server in Kubernetes mode, from the manifests directory with `--manifests`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use contour_api::v1alpha1::ContourConfiguration;
use serde_json::Value;

const API_VERSION: &str = "projectcontour.io/v1alpha1";
const KIND: &str = "ContourConfiguration";

/// Kubernetes mode with `--contour-config-name`: reads the ContourConfiguration from the API
/// server (once, as upstream), with the CRD's defaults and validation applied.
pub async fn fetch_contour_configuration(
    args: &crate::cli::ServeArgs,
) -> anyhow::Result<Option<ContourConfiguration>> {
    let (Some(name), None) = (&args.contour_config_name, &args.manifests) else {
        return Ok(None);
    };
    let namespace = super::contour_namespace();
    let opts = contour_k8s::ClientOptions {
        kubeconfig: args.kubeconfig.clone(),
        incluster: args.incluster,
        qps: args.kubernetes_client_qps,
        burst: args.kubernetes_client_burst,
    };
    let client = contour_k8s::client(&opts)
        .await
        .context("creating the Kubernetes client")?;
    let api: kube::Api<ContourConfiguration> = kube::Api::namespaced(client, &namespace);
    let got = tokio::time::timeout(std::time::Duration::from_secs(30), api.get(name))
        .await
        .map_err(|_| anyhow::anyhow!("no answer within 30s"))
        .and_then(|r| r.map_err(anyhow::Error::from))
        .with_context(|| format!("error getting contour configuration {namespace}/{name}"))?;
    let mut doc = serde_json::to_value(&got)?;
    contour_api::admission::admit(&mut doc)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("{KIND} {namespace}/{name}"))?;
    let cc = serde_json::from_value(doc)
        .with_context(|| format!("decoding {KIND} {namespace}/{name}"))?;
    Ok(Some(cc))
}

/// Finds `namespace/name` among the manifests under `dir`, admitted with the CRD's schema.
pub fn load_from_dir(
    dir: &Path,
    namespace: &str,
    name: &str,
) -> anyhow::Result<ContourConfiguration> {
    let mut files = Vec::new();
    collect_files(dir, &mut files);
    files.sort();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for doc in documents(&text) {
            if !is_wanted(&doc, namespace, name) {
                continue;
            }
            let mut doc = doc;
            contour_api::admission::admit(&mut doc)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("{}", file.display()))?;
            return serde_json::from_value(doc).with_context(|| {
                format!("decoding {KIND} {namespace}/{name} in {}", file.display())
            });
        }
    }
    bail!(
        "error getting contour configuration {namespace}/{name}: not found in {}",
        dir.display()
    )
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            collect_files(&path, out);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        {
            out.push(path);
        }
    }
}

/// The documents of a YAML (or JSON) stream that parse; others are the manifests source's
/// business to report.
fn documents(text: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(text)
        .filter_map(|d| <Value as serde::Deserialize>::deserialize(d).ok())
        .collect()
}

fn is_wanted(doc: &Value, namespace: &str, name: &str) -> bool {
    let meta = &doc["metadata"];
    doc["apiVersion"] == API_VERSION
        && doc["kind"] == KIND
        && meta["name"] == name
        && meta["namespace"].as_str().unwrap_or("default") == namespace
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_admits_the_named_configuration() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(
            dir.path().join("sub/cc.yaml"),
            "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n---\n\
             apiVersion: projectcontour.io/v1alpha1\nkind: ContourConfiguration\n\
             metadata: {name: contour, namespace: projectcontour}\n\
             spec:\n  envoy:\n    network: {numTrustedHops: 2}\n",
        )
        .unwrap();
        let cc = load_from_dir(dir.path(), "projectcontour", "contour").unwrap();
        let hops = cc
            .spec
            .envoy
            .and_then(|e| e.network)
            .and_then(|n| n.num_trusted_hops);
        assert_eq!(hops, Some(2));
        let err = load_from_dir(dir.path(), "projectcontour", "other").unwrap_err();
        assert!(err.to_string().contains("not found"), "{err}");
    }

    #[test]
    fn schema_violations_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("cc.yaml"),
            "apiVersion: projectcontour.io/v1alpha1\nkind: ContourConfiguration\n\
             metadata: {name: contour, namespace: projectcontour}\n\
             spec:\n  envoy:\n    listener: {compression: {algorithm: lz4}}\n",
        )
        .unwrap();
        let err = load_from_dir(dir.path(), "projectcontour", "contour").unwrap_err();
        assert!(format!("{err:#}").contains("algorithm"), "{err:#}");
    }
}
