//! A manifests directory for `contour serve --manifests <dir>`-style tests,
//! and YAML builders for Services and EndpointSlices pointing at echo backends.
//!
//! Writes are atomic: the file is written in a staging directory next to (not
//! inside) the manifests directory and renamed into place, so a watcher never
//! sees a half-written file or a temp file.

use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, bail};

use crate::echo::EchoBackend;

/// A temporary directory of manifests, removed on drop.
#[derive(Debug)]
pub struct ManifestDir {
    _root: tempfile::TempDir,
    dir: PathBuf,
    staging: PathBuf,
    counter: AtomicU64,
}

impl ManifestDir {
    /// Creates an empty manifests directory.
    ///
    /// # Errors
    /// When the temp directory cannot be created.
    pub fn new() -> anyhow::Result<Self> {
        let root = tempfile::Builder::new()
            .prefix("testkit-manifests-")
            .tempdir()
            .context("creating the manifests temp dir")?;
        let dir = root.path().join("manifests");
        let staging = root.path().join("staging");
        fs::create_dir(&dir)?;
        fs::create_dir(&staging)?;
        Ok(Self {
            _root: root,
            dir,
            staging,
            counter: AtomicU64::new(0),
        })
    }

    /// The directory to hand to Contour.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Writes `yaml` to `rel_path` (creating parent directories) atomically;
    /// replaces an existing file. Returns the file's full path.
    ///
    /// # Errors
    /// When `rel_path` is absolute or leaves the directory, or on I/O errors.
    pub fn write(&self, rel_path: &str, yaml: &str) -> anyhow::Result<PathBuf> {
        let target = self.resolve(rel_path)?;
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let temp = self.staging.join(format!("{n}.tmp"));
        fs::write(&temp, yaml).with_context(|| format!("writing {}", temp.display()))?;
        fs::rename(&temp, &target)
            .with_context(|| format!("renaming into {}", target.display()))?;
        Ok(target)
    }

    /// Removes `rel_path`.
    ///
    /// # Errors
    /// When the path is invalid or the file cannot be removed (including when
    /// it does not exist).
    pub fn remove(&self, rel_path: &str) -> anyhow::Result<()> {
        let target = self.resolve(rel_path)?;
        fs::remove_file(&target).with_context(|| format!("removing {}", target.display()))
    }

    fn resolve(&self, rel_path: &str) -> anyhow::Result<PathBuf> {
        let rel = Path::new(rel_path);
        let plain = rel.components().all(|c| matches!(c, Component::Normal(_)));
        if rel_path.is_empty() || !plain {
            bail!("manifest path {rel_path:?} must be relative, without `.` or `..`");
        }
        Ok(self.dir.join(rel))
    }
}

/// A v1 Service `ns/name` with one TCP port `port` named `port_name`
/// (targetPort the same name), followed by one EndpointSlice per backend,
/// named `<name>-0`, `<name>-1`, ... (see [`endpointslice_yaml`]).
pub fn service_yaml(
    ns: &str,
    name: &str,
    port: u16,
    port_name: &str,
    backends: &[&EchoBackend],
) -> String {
    let service = format!(
        "apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {ns}
spec:
  ports:
  - name: {port_name}
    port: {port}
    protocol: TCP
    targetPort: {port_name}
"
    );
    let slices = endpointslice_yaml(ns, name, name, port_name, backends);
    if slices.is_empty() {
        service
    } else {
        format!("{service}---\n{slices}")
    }
}

/// EndpointSlices for Service `ns/svc`: one per backend, named
/// `<slice_name>-<i>`, each with the backend's own port (all backends listen
/// on 127.0.0.1, and a slice's ports apply to all its endpoints). Empty string
/// for no backends.
pub fn endpointslice_yaml(
    ns: &str,
    svc: &str,
    slice_name: &str,
    port_name: &str,
    backends: &[&EchoBackend],
) -> String {
    backends
        .iter()
        .enumerate()
        .map(|(i, b)| {
            endpointslice_doc(
                ns,
                svc,
                &format!("{slice_name}-{i}"),
                port_name,
                b.port(),
                &["127.0.0.1"],
                true,
            )
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

/// One discovery.k8s.io/v1 EndpointSlice document with explicit contents.
pub fn endpointslice_doc(
    ns: &str,
    svc: &str,
    slice_name: &str,
    port_name: &str,
    port: u16,
    addresses: &[&str],
    ready: bool,
) -> String {
    endpointslice_ports_doc(ns, svc, slice_name, &[(port_name, port)], addresses, ready)
}

/// One EndpointSlice document whose endpoints listen on several named ports (a traffic port
/// and a health-check port, say).
pub fn endpointslice_ports_doc(
    ns: &str,
    svc: &str,
    slice_name: &str,
    ports: &[(&str, u16)],
    addresses: &[&str],
    ready: bool,
) -> String {
    let mut doc = format!(
        "apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {slice_name}
  namespace: {ns}
  labels:
    kubernetes.io/service-name: {svc}
addressType: IPv4
ports:
"
    );
    for (name, port) in ports {
        doc.push_str(&format!(
            "- name: {name}\n  port: {port}\n  protocol: TCP\n"
        ));
    }
    doc.push_str("endpoints:\n");
    for address in addresses {
        doc.push_str(&format!(
            "- addresses:\n  - \"{address}\"\n  conditions:\n    ready: {ready}\n"
        ));
    }
    if addresses.is_empty() {
        doc = doc.replace("endpoints:\n", "endpoints: []\n");
    }
    doc
}
