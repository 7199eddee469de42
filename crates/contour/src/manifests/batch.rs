//! Coalescing bursts of `notify` events into one set of paths to look at.
//!
//! An editor save or `kubectl`-style write produces several events for one path (truncate,
//! write, close, rename). A batch ends after [`QUIET`] without events, so one save costs one
//! read and adds only a few milliseconds. On Linux a file being written (a data change without
//! its close-after-write yet) keeps the batch open, up to [`MAX_BATCH`], so a half-written file
//! is not read.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind};
use notify::{Event, EventKind};
use tracing::warn;

/// Quiet time that ends a burst.
pub(super) const QUIET: Duration = Duration::from_millis(5);
/// Longest a batch waits for a file being written to be closed.
pub(super) const MAX_BATCH: Duration = Duration::from_millis(50);

/// The paths to re-examine after a burst of events.
#[derive(Debug, Default)]
pub(super) struct Batch {
    pub dirty: BTreeSet<PathBuf>,
    /// Re-examine the whole directory (watcher overflow or error, or a Kubernetes volume
    /// update through its hidden `..data` link).
    pub rescan: bool,
    /// Files with a data change and no close-after-write yet.
    writing: BTreeSet<PathBuf>,
}

/// Blocks for the next burst of events; `None` once the watcher is gone.
pub(super) fn next_batch(rx: &Receiver<notify::Result<Event>>, root: &Path) -> Option<Batch> {
    let first = rx.recv().ok()?;
    let mut batch = Batch::default();
    batch.add(first, root);
    let deadline = Instant::now() + MAX_BATCH;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let wait = if batch.writing.is_empty() {
            QUIET.min(left)
        } else {
            left
        };
        if wait.is_zero() {
            break;
        }
        match rx.recv_timeout(wait) {
            Ok(event) => batch.add(event, root),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
        }
    }
    Some(batch)
}

/// Where a path sits relative to the manifests directory.
#[derive(Debug, PartialEq, Eq)]
enum Place {
    Visible,
    /// Under a hidden file or directory (editor swap files, `.git`): ignored.
    Hidden,
    /// Under a `..name` entry, as Kubernetes writes ConfigMap and Secret volumes.
    AtomicWriter,
    Outside,
}

fn place(root: &Path, path: &Path) -> Place {
    let Ok(relative) = path.strip_prefix(root) else {
        return Place::Outside;
    };
    let mut place = Place::Visible;
    for component in relative.components() {
        let Component::Normal(name) = component else {
            continue;
        };
        let name = name.to_string_lossy();
        if name.starts_with("..") {
            return Place::AtomicWriter;
        }
        if name.starts_with('.') {
            place = Place::Hidden;
        }
    }
    place
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.dirty.is_empty() && !self.rescan
    }

    fn add(&mut self, event: notify::Result<Event>, root: &Path) {
        let event = match event {
            Ok(event) => event,
            Err(err) => {
                warn!(error = %err, "file watcher error; rescanning the manifests directory");
                self.rescan = true;
                return;
            }
        };
        if event.need_rescan() {
            self.rescan = true;
        }
        // Some(true): a write started; Some(false): no write in progress any more.
        let writing = match event.kind {
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => Some(false),
            // Opens and reads, including our own: nothing changed.
            EventKind::Access(_) => return,
            EventKind::Create(CreateKind::File)
            | EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any) => {
                cfg!(target_os = "linux").then_some(true)
            }
            EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_)) => Some(false),
            _ => None,
        };
        for path in event.paths {
            match place(root, &path) {
                Place::Visible => {}
                Place::AtomicWriter => {
                    self.rescan = true;
                    continue;
                }
                Place::Hidden | Place::Outside => continue,
            }
            match writing {
                Some(true) => _ = self.writing.insert(path.clone()),
                Some(false) => _ = self.writing.remove(&path),
                None => {}
            }
            self.dirty.insert(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places() {
        let root = Path::new("/m");
        assert_eq!(place(root, Path::new("/m/a/b.yaml")), Place::Visible);
        assert_eq!(place(root, Path::new("/m")), Place::Visible);
        assert_eq!(place(root, Path::new("/m/a/.b.yaml.swp")), Place::Hidden);
        assert_eq!(place(root, Path::new("/m/.git/HEAD")), Place::Hidden);
        assert_eq!(place(root, Path::new("/m/..data")), Place::AtomicWriter);
        assert_eq!(place(root, Path::new("/other/a.yaml")), Place::Outside);
    }

    #[test]
    fn burst_for_one_path_is_one_batch() {
        let (tx, rx) = std::sync::mpsc::channel();
        let path = PathBuf::from("/m/a.yaml");
        let kinds = [
            EventKind::Modify(ModifyKind::Data(notify::event::DataChange::Any)),
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
        ];
        for kind in kinds {
            tx.send(Ok(Event::new(kind).add_path(path.clone())))
                .unwrap();
        }
        let batch = next_batch(&rx, Path::new("/m")).unwrap();
        assert_eq!(batch.dirty.into_iter().collect::<Vec<_>>(), vec![path]);
        assert!(!batch.rescan);
        drop(tx);
        assert!(next_batch(&rx, Path::new("/m")).is_none());
    }
}
