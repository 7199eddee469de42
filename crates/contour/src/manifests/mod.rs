//! `contour serve --manifests DIR`: a cluster in a folder.
//!
//! Every `*.yaml`, `*.yml` and `*.json` file under the directory (recursively, hidden entries
//! skipped) is read as Kubernetes manifests; the objects Contour reads are sent to the event loop
//! as [`SourceEvent`]s, then the directory is watched and only the files that change are re-read.
//!
//! ```text
//! notify ──▶ batch (coalesce a burst) ──▶ watch (re-read paths) ──▶ decode (documents, admission)
//!                                                                     ──▶ store (diff) ──▶ events
//! ```
//!
//! Bad input never stops the source: an invalid document is logged with its file, document
//! index and line, and skipped; the object it used to define keeps its last good version.
//! See docs/manifests.md.

mod admission;
mod batch;
mod decode;
mod direct;
mod documents;
mod fast_yaml;
mod fast_yaml_de;
mod fast_yaml_inline;
pub mod oneshot;
mod parallel;
mod store;
mod watch;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::{Context, bail};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc::Sender;

use watch::{ReadCounts, Runner};

pub use contour_dag::SourceEvent;

/// The manifests directory source.
pub struct ManifestSource;

/// Keeps the source running; dropping it stops watching the directory.
pub struct ManifestSourceHandle {
    root: PathBuf,
    reads: Arc<ReadCounts>,
    // Dropping the watcher closes its event channel, which ends the thread.
    _watcher: RecommendedWatcher,
    _thread: JoinHandle<()>,
}

impl ManifestSource {
    /// Starts watching `dir`, then loads it: Upserts for every object, then `InitialSyncDone`,
    /// then changes as they happen. Fails if `dir` is not a readable directory.
    pub fn start(dir: PathBuf, tx: Sender<SourceEvent>) -> anyhow::Result<ManifestSourceHandle> {
        let root = std::fs::canonicalize(&dir)
            .with_context(|| format!("manifests directory {} cannot be opened", dir.display()))?;
        if !root.is_dir() {
            bail!("manifests path {} is not a directory", dir.display());
        }
        // The watcher starts before the initial load so no change falls between the two.
        let (events_tx, events_rx) = std::sync::mpsc::channel();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                // The receiver is gone only when the source is stopping.
                let _ = events_tx.send(event);
            })
            .context("cannot start the file watcher")?;
        watcher
            .watch(&root, RecursiveMode::Recursive)
            .with_context(|| format!("cannot watch manifests directory {}", root.display()))?;

        let reads = Arc::new(ReadCounts::default());
        let runner = Runner::new(root.clone(), tx, Arc::clone(&reads));
        let dispatch = tracing::dispatcher::get_default(Clone::clone);
        let span = tracing::info_span!("manifests", dir = %root.display());
        let thread = std::thread::Builder::new()
            .name("manifests".into())
            .spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    span.in_scope(|| runner.run(events_rx))
                })
            })
            .context("cannot start the manifests thread")?;
        tracing::info!(dir = %root.display(), "watching manifests directory");
        Ok(ManifestSourceHandle {
            root,
            reads,
            _watcher: watcher,
            _thread: thread,
        })
    }
}

impl ManifestSourceHandle {
    /// The watched directory, with symbolic links resolved.
    #[allow(dead_code, reason = "diagnostics; used by tests")]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// How many times a file (a path under [`Self::root`]) has been read.
    #[allow(dead_code, reason = "diagnostics; used by tests")]
    pub fn reads(&self, path: &Path) -> u64 {
        self.reads.get(path)
    }

    /// How many files directory walks have looked at (each file once per walk).
    #[allow(dead_code, reason = "diagnostics; used by tests")]
    pub fn examined(&self) -> u64 {
        self.reads.examined()
    }
}
