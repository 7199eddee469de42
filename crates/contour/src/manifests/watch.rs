//! The thread that reads the directory and follows its changes.
//!
//! File events name the path to look at again: a manifest file is re-read, a directory is
//! walked (reading only files that are new or whose metadata changed), and a path that is gone
//! forgets every file at or under it. Working from paths rather than from event kinds makes
//! renames of files and directories, and any event order, come out right.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime};

use tokio::sync::mpsc::Sender;
use tracing::{debug, info, warn};

use super::SourceEvent;
use super::batch::{Batch, next_batch};
use super::decode::{ParsedFile, is_manifest_path, parse_file};
use super::parallel;
use super::store::Store;

/// How many times each file was read, and how many files directory walks looked at
/// (diagnostics and tests: one change must cost one read, not a walk of the directory).
#[derive(Debug, Default)]
pub(super) struct ReadCounts {
    reads: Mutex<BTreeMap<PathBuf, u64>>,
    examined: AtomicU64,
}

impl ReadCounts {
    fn bump(&self, path: &Path) {
        let mut counts = self.reads.lock().unwrap_or_else(PoisonError::into_inner);
        *counts.entry(path.to_path_buf()).or_default() += 1;
    }

    pub fn get(&self, path: &Path) -> u64 {
        let counts = self.reads.lock().unwrap_or_else(PoisonError::into_inner);
        counts.get(path).copied().unwrap_or_default()
    }

    /// Files whose metadata a directory walk compared with what was last read.
    pub fn examined(&self) -> u64 {
        self.examined.load(Ordering::Relaxed)
    }
}

/// File metadata that changes when the content may have changed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint {
    len: u64,
    modified: Option<SystemTime>,
    inode: (u64, i64, i64),
}

fn fingerprint(path: &Path) -> Option<Fingerprint> {
    let meta = fs::metadata(path).ok()?;
    Some(Fingerprint {
        len: meta.len(),
        modified: meta.modified().ok(),
        inode: inode(&meta),
    })
}

#[cfg(unix)]
fn inode(meta: &fs::Metadata) -> (u64, i64, i64) {
    use std::os::unix::fs::MetadataExt;
    (meta.ino(), meta.ctime(), meta.ctime_nsec())
}

#[cfg(not(unix))]
fn inode(_meta: &fs::Metadata) -> (u64, i64, i64) {
    (0, 0, 0)
}

/// What a path is, following symbolic links to files but not to directories (no cycles).
enum Entry {
    File,
    Dir,
    Other,
    Missing,
}

fn entry(path: &Path) -> std::io::Result<Entry> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(Entry::Missing),
        Err(err) => return Err(err),
    };
    if meta.is_dir() {
        return Ok(Entry::Dir);
    }
    if meta.is_symlink() {
        return match fs::metadata(path) {
            Ok(target) if target.is_file() => Ok(Entry::File),
            Ok(_) => Ok(Entry::Other),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(Entry::Missing),
            Err(err) => Err(err),
        };
    }
    Ok(if meta.is_file() {
        Entry::File
    } else {
        Entry::Other
    })
}

pub(super) struct Runner {
    root: PathBuf,
    store: Store,
    fingerprints: BTreeMap<PathBuf, Fingerprint>,
    tx: Sender<SourceEvent>,
    reads: Arc<ReadCounts>,
    /// During the initial load: send the events of each chunk of files as soon as it is read.
    streaming: bool,
    /// Events sent so far.
    sent: u64,
}

impl Runner {
    pub fn new(root: PathBuf, tx: Sender<SourceEvent>, reads: Arc<ReadCounts>) -> Runner {
        Runner {
            root,
            store: Store::default(),
            fingerprints: BTreeMap::new(),
            tx,
            reads,
            streaming: false,
            sent: 0,
        }
    }

    /// Initial load, then follows changes until the watcher or the receiver is gone.
    pub fn run(mut self, events: Receiver<notify::Result<notify::Event>>) {
        let started = Instant::now();
        let root = self.root.clone();
        // The initial load is sent chunk by chunk: the event loop fills its cache while the next
        // files are parsed, and no more than a chunk of objects is held here at once.
        self.streaming = true;
        self.sync_dir(&root);
        self.streaming = false;
        let rest = self.flush();
        if !self.send(rest) {
            return;
        }
        info!(
            files = self.fingerprints.len(),
            objects = self.sent,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "read manifests directory"
        );
        if !self.send(vec![SourceEvent::InitialSyncDone]) {
            return;
        }
        while let Some(batch) = next_batch(&events, &self.root) {
            if batch.is_empty() {
                continue;
            }
            self.apply(batch);
            let changes = self.flush();
            if !self.send(changes) {
                return;
            }
        }
        debug!("manifests watcher stopped");
    }

    fn apply(&mut self, batch: Batch) {
        for path in &batch.dirty {
            self.reconcile(path);
        }
        if batch.rescan {
            let root = self.root.clone();
            self.sync_dir(&root);
        }
    }

    /// The events of the changes applied since the last flush. A definition to serve again
    /// that was not read in this batch (another file's, when the served one goes) is read first.
    fn flush(&mut self) -> Vec<SourceEvent> {
        for path in self.store.unread_served_files() {
            self.read_file(&path);
        }
        self.store.flush()
    }

    fn send(&mut self, events: Vec<SourceEvent>) -> bool {
        for event in events {
            match &event {
                SourceEvent::Upsert(object) => {
                    debug!(key = %object.key(), "manifest object updated")
                }
                SourceEvent::Delete(key) => debug!(%key, "manifest object deleted"),
                SourceEvent::InitialSyncDone => debug!("manifests initial sync done"),
            }
            if self.tx.blocking_send(event).is_err() {
                debug!("event receiver closed; stopping the manifests watcher");
                return false;
            }
            self.sent += 1;
        }
        true
    }

    /// Looks again at one path named by a file event.
    fn reconcile(&mut self, path: &Path) {
        match entry(path) {
            Ok(Entry::File) if is_manifest_path(path) => self.read_file(path),
            Ok(Entry::Dir) => self.sync_dir(path),
            Ok(Entry::File | Entry::Other | Entry::Missing) => self.forget(path),
            Err(err) => warn!(file = %path.display(), error = %err, "cannot inspect manifest path"),
        }
    }

    /// Reads the manifest files under `dir` that are new or changed, forgets those gone.
    fn sync_dir(&mut self, dir: &Path) {
        let mut found = BTreeSet::new();
        let mut unlisted = Vec::new();
        walk(dir, &mut found, &mut unlisted);
        self.reads
            .examined
            .fetch_add(found.len() as u64, Ordering::Relaxed);
        let mut stale = Vec::new();
        let mut prints = BTreeMap::new();
        for file in &found {
            let print = fingerprint(file);
            let known = self.fingerprints.get(file);
            if known.is_none() || known != print.as_ref() {
                stale.push((file.clone(), print.as_ref().map_or(0, |p| p.len)));
                prints.insert(file.clone(), print);
            }
        }
        // The store takes one chunk while the next is parsed.
        parallel::read_chunks(parallel::chunks(stale), |chunk| {
            for read in chunk {
                self.reads.bump(&read.path);
                let print = prints.remove(&read.path).flatten();
                self.apply_read(&read.path, print, read.parsed);
            }
            if self.streaming {
                let events = self.flush();
                // A closed receiver is noticed again by the next send.
                let _ = self.send(events);
            }
        });
        let gone: Vec<PathBuf> = self
            .store
            .files()
            .filter(|f| f.starts_with(dir) && !found.contains(*f))
            .filter(|f| !unlisted.iter().any(|u| f.starts_with(u)))
            .map(Path::to_path_buf)
            .collect();
        for file in gone {
            self.forget(&file);
        }
    }

    fn read_file(&mut self, path: &Path) {
        let print = fingerprint(path);
        self.reads.bump(path);
        let parsed = fs::read(path).map(|bytes| parse_file(path, &bytes));
        self.apply_read(path, print, parsed);
    }

    fn apply_read(
        &mut self,
        path: &Path,
        print: Option<Fingerprint>,
        parsed: std::io::Result<ParsedFile>,
    ) {
        match parsed {
            Ok(parsed) => {
                debug!(file = %path.display(), objects = parsed.objects.len(), "read manifest file");
                self.store.apply_file(path, parsed);
                if let Some(print) = print {
                    self.fingerprints.insert(path.to_path_buf(), print);
                }
            }
            Err(err) if err.kind() == ErrorKind::NotFound => self.forget(path),
            Err(err) => warn!(
                file = %path.display(), error = %err,
                "cannot read manifest file; keeping the objects it defined"
            ),
        }
    }

    /// Forgets every file at or under a path that no longer holds manifests.
    fn forget(&mut self, path: &Path) {
        for file in self.store.remove_under(path) {
            info!(file = %file.display(), "manifest file removed");
        }
        self.fingerprints.retain(|f, _| !f.starts_with(path));
    }
}

/// Collects manifest files under `dir`, skipping hidden entries and symlinked directories.
/// Directories that cannot be listed go to `unlisted` so their files are not taken as deleted.
pub(super) fn walk(dir: &Path, found: &mut BTreeSet<PathBuf>, unlisted: &mut Vec<PathBuf>) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == ErrorKind::NotFound => return,
        Err(err) => {
            warn!(dir = %dir.display(), error = %err, "cannot list manifests directory");
            unlisted.push(dir.to_path_buf());
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        match entry(&path) {
            Ok(Entry::Dir) => walk(&path, found, unlisted),
            Ok(Entry::File) if is_manifest_path(&path) => _ = found.insert(path),
            Ok(_) => {}
            Err(err) => {
                warn!(file = %path.display(), error = %err, "cannot inspect manifest path");
                unlisted.push(path);
            }
        }
    }
}
