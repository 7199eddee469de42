//! What every file defines, which definition is served, and the events that follow from a change.
//!
//! Pure bookkeeping, no I/O. Changes are accumulated and turned into events by [`Store::flush`],
//! which compares the served objects with what they were before the first change since the last
//! flush: a file renamed within the directory in one batch produces no event at all.
//!
//! The store keeps a digest of every definition, not the objects: the objects are held once, by
//! the event loop's cache. The definitions read since the last flush are held until the flush
//! hands them out; a definition that must be served again without having been read in the
//! batch (another file's, when the served one goes) is read again first
//! ([`Store::unread_served_files`]).

use std::collections::{BTreeMap, BTreeSet};
use std::hash::Hasher;
use std::path::{Path, PathBuf};

use contour_dag::{Object, ObjectKey};
use tracing::{info, warn};

use super::SourceEvent;
use super::decode::ParsedFile;

/// A hash of a definition's JSON form: equal objects have equal digests.
pub(super) type Digest = u64;

#[derive(Debug, Default)]
pub(super) struct Store {
    files: BTreeMap<PathBuf, BTreeMap<ObjectKey, Digest>>,
    /// Files defining each key with their definition's digest (the same as in `files`), least
    /// recently changed first; the last one is served.
    owners: BTreeMap<ObjectKey, Vec<(PathBuf, Digest)>>,
    /// Served digest of each key touched since the last flush, as it was before.
    before: BTreeMap<ObjectKey, Option<Digest>>,
    /// Definitions read since the last flush, by key, with the file of each (almost always one).
    fresh: BTreeMap<ObjectKey, Vec<(PathBuf, Object)>>,
}

/// The digest of an object (SipHash of its JSON serialization, streamed, never materialised).
pub(super) fn digest(object: &Object) -> Digest {
    struct HashWriter(std::collections::hash_map::DefaultHasher);
    impl std::io::Write for HashWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.write(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut w = HashWriter(Default::default());
    // Serializing these types cannot fail (string keys only); a failure would only make two
    // versions compare unequal, which costs an event, never a lost change.
    let _ = object.write_json(&mut w);
    w.0.finish()
}

impl Store {
    /// Known files, sorted.
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.files.keys().map(PathBuf::as_path)
    }

    #[cfg(test)]
    pub fn contains_file(&self, path: &Path) -> bool {
        self.files.contains_key(path)
    }

    /// Records what a file now defines. Objects that the file no longer defines are deleted,
    /// unless their new definition was rejected or part of the file could not be read: then
    /// their last good version is kept, as an API server keeps an object whose update it rejects.
    pub fn apply_file(&mut self, path: &Path, parsed: ParsedFile) {
        let old = self.files.get(path).cloned().unwrap_or_default();
        let mut new = BTreeMap::new();
        let digests = parsed.digests;
        let known = digests.len() == parsed.objects.len();
        for (i, object) in parsed.objects.into_iter().enumerate() {
            let key = object.key();
            let digest = if known { digests[i] } else { digest(&object) };
            if new.insert(key.clone(), digest).is_some() {
                warn!(file = %path.display(), %key, "object defined twice in one file; the last definition wins");
            }
            self.keep_fresh(key, path, object);
        }
        for (key, digest) in old {
            if new.contains_key(&key) {
                continue;
            }
            if parsed.rejected.contains(&key) || parsed.unreadable {
                warn!(
                    file = %path.display(), %key,
                    "keeping the last good version of an object whose manifest is invalid"
                );
                new.insert(key, digest);
            }
        }
        self.replace(path, new);
    }

    /// Forgets a file that no longer exists: its objects are deleted, or fall back to another
    /// file's definition.
    pub fn remove_file(&mut self, path: &Path) {
        if self.files.contains_key(path) {
            self.replace(path, BTreeMap::new());
            self.files.remove(path);
        }
    }

    /// Forgets every file at or under `path` (a removed or renamed directory).
    pub fn remove_under(&mut self, path: &Path) -> Vec<PathBuf> {
        let gone: Vec<PathBuf> = self
            .files()
            .filter(|f| f.starts_with(path))
            .map(Path::to_path_buf)
            .collect();
        for file in &gone {
            self.remove_file(file);
        }
        gone
    }

    fn replace(&mut self, path: &Path, new: BTreeMap<ObjectKey, Digest>) {
        let old_keys = self.files.get(path).into_iter().flat_map(|f| f.keys());
        let touched: Vec<ObjectKey> = old_keys.chain(new.keys()).cloned().collect();
        for key in touched {
            if !self.before.contains_key(&key) {
                let served = self.served(&key).map(|(_, d)| d);
                self.before.insert(key, served);
            }
        }
        let old = self.files.remove(path).unwrap_or_default();
        for key in old.keys().filter(|k| !new.contains_key(*k)) {
            self.disown(key, path);
            if let Some((fallback, _)) = self.owners.get(key).and_then(|o| o.last()) {
                info!(
                    %key, file = %fallback.display(),
                    "object still defined by another file; serving that definition"
                );
            }
        }
        for (key, digest) in &new {
            if old.get(key) == Some(digest) {
                continue;
            }
            // A new or changed definition becomes the served one.
            self.disown(key, path);
            let owners = self.owners.entry(key.clone()).or_default();
            owners.push((path.to_path_buf(), *digest));
            if owners.len() > 1 {
                let files: Vec<&PathBuf> = owners.iter().map(|(p, _)| p).collect();
                warn!(
                    %key, served_from = %path.display(), ?files,
                    "object defined in more than one file; the most recently read definition wins"
                );
            }
        }
        self.files.insert(path.to_path_buf(), new);
    }

    /// Holds a definition just read until the next flush (the latest read of a file wins).
    fn keep_fresh(&mut self, key: ObjectKey, path: &Path, object: Object) {
        let defs = self.fresh.entry(key).or_default();
        match defs.iter_mut().find(|(p, _)| p == path) {
            Some(def) => def.1 = object,
            None => defs.push((path.to_path_buf(), object)),
        }
    }

    /// Whether the definition of `key` in `path` was read since the last flush.
    fn is_fresh(&self, key: &ObjectKey, path: &Path) -> bool {
        self.fresh
            .get(key)
            .is_some_and(|defs| defs.iter().any(|(p, _)| p == path))
    }

    fn disown(&mut self, key: &ObjectKey, path: &Path) {
        if let Some(owners) = self.owners.get_mut(key) {
            owners.retain(|(p, _)| p != path);
            if owners.is_empty() {
                self.owners.remove(key);
            }
        }
    }

    /// The file serving `key` and its definition's digest.
    fn served(&self, key: &ObjectKey) -> Option<(&PathBuf, Digest)> {
        let (path, digest) = self.owners.get(key)?.last()?;
        Some((path, *digest))
    }

    /// Files whose definitions the next flush must send but that were not read since the last
    /// flush (a fallback to another file's definition): read them again before flushing.
    pub fn unread_served_files(&self) -> BTreeSet<PathBuf> {
        let mut out = BTreeSet::new();
        for (key, old) in &self.before {
            if let Some((path, now)) = self.served(key)
                && *old != Some(now)
                && !self.is_fresh(key, path)
            {
                out.insert(path.clone());
            }
        }
        out
    }

    /// Events for every served object that changed since the last flush, sorted by key.
    pub fn flush(&mut self) -> Vec<SourceEvent> {
        let before = std::mem::take(&mut self.before);
        let mut fresh = std::mem::take(&mut self.fresh);
        let mut events = Vec::new();
        for (key, old) in before {
            match (old, self.served(&key)) {
                (Some(old), Some((_, now))) if old == now => {}
                (_, Some((path, _))) => match take_fresh(&mut fresh, &key, path) {
                    Some(object) => events.push(SourceEvent::Upsert(object)),
                    None => warn!(
                        %key, file = %path.display(),
                        "cannot serve a definition that could not be read again"
                    ),
                },
                (Some(_), None) => events.push(SourceEvent::Delete(key)),
                (None, None) => {}
            }
        }
        events
    }
}

/// The definition of `key` read from `path`, taken out of `fresh`.
fn take_fresh(
    fresh: &mut BTreeMap<ObjectKey, Vec<(PathBuf, Object)>>,
    key: &ObjectKey,
    path: &Path,
) -> Option<Object> {
    let defs = fresh.get_mut(key)?;
    let i = defs.iter().position(|(p, _)| p == path)?;
    Some(defs.swap_remove(i).1)
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
