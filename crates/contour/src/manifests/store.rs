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
//!
//! A cluster may hold tens of thousands of objects nothing routes to (Secrets of Helm releases),
//! so what is kept per object is small: one owners entry, the key's single allocation shared by
//! that entry and the list of each file defining it, and files named by a number, not a path.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use contour_dag::{Kind, Object, ObjectKey};
use foldhash::HashMap;
use tracing::{info, warn};

use super::SourceEvent;
use super::decode::ParsedFile;

/// A hash of a definition's JSON form: equal objects have equal digests.
pub(super) type Digest = u64;

/// A file's number: what the store keeps per definition instead of its path. Never reused.
type FileId = u64;

/// The store's form of an [`ObjectKey`], held once per object (shared by the files defining it
/// and its owners' entry): the kind, and namespace and name in one allocation. Ordered as the
/// `ObjectKey`s it stands for.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    /// Namespace then name.
    text: Arc<str>,
    ns_len: u32,
    kind: Kind,
}

impl Key {
    fn new(key: &ObjectKey) -> Key {
        Key {
            text: format!("{}{}", key.namespace, key.name).into(),
            // Kubernetes namespaces are at most 63 bytes; a manifest file is not 4 GiB.
            ns_len: u32::try_from(key.namespace.len()).expect("namespace longer than 4 GiB"),
            kind: key.kind,
        }
    }

    fn namespace(&self) -> &str {
        &self.text[..self.ns_len as usize]
    }

    fn name(&self) -> &str {
        &self.text[self.ns_len as usize..]
    }

    fn object_key(&self) -> ObjectKey {
        ObjectKey {
            kind: self.kind,
            namespace: self.namespace().to_string(),
            name: self.name().to_string(),
        }
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.kind, self.namespace(), self.name()).cmp(&(
            other.kind,
            other.namespace(),
            other.name(),
        ))
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.object_key(), f)
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// The files defining one key with their definition's digest, least recently changed first;
/// the last one is served. Almost always one, held inline.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Owners {
    One((FileId, Digest)),
    Many(Box<[(FileId, Digest)]>),
}

impl Owners {
    fn from_vec(mut owners: Vec<(FileId, Digest)>) -> Option<Owners> {
        match owners.len() {
            0 => None,
            1 => owners.pop().map(Owners::One),
            _ => Some(Owners::Many(owners.into_boxed_slice())),
        }
    }

    fn as_slice(&self) -> &[(FileId, Digest)] {
        match self {
            Owners::One(one) => std::slice::from_ref(one),
            Owners::Many(many) => many,
        }
    }

    fn served(&self) -> Option<(FileId, Digest)> {
        self.as_slice().last().copied()
    }

    /// The digest of `file`'s definition.
    fn digest_in(&self, file: FileId) -> Option<Digest> {
        self.as_slice()
            .iter()
            .find(|(f, _)| *f == file)
            .map(|(_, d)| *d)
    }

    /// These owners without `file` (None: no owner left).
    fn without(&self, file: FileId) -> Option<Owners> {
        Owners::from_vec(
            self.as_slice()
                .iter()
                .filter(|(f, _)| *f != file)
                .copied()
                .collect(),
        )
    }

    /// These owners with `file`'s definition the served one.
    fn served_from(&self, file: FileId, digest: Digest) -> Owners {
        let mut owners: Vec<_> = self
            .as_slice()
            .iter()
            .filter(|(f, _)| *f != file)
            .copied()
            .collect();
        owners.push((file, digest));
        Owners::from_vec(owners).unwrap_or(Owners::One((file, digest)))
    }
}

/// A known file.
#[derive(Debug)]
struct File {
    id: FileId,
    /// The keys it defines, sorted.
    keys: Box<[Key]>,
}

#[derive(Debug, Default)]
pub(super) struct Store {
    files: BTreeMap<PathBuf, File>,
    /// The path of each known file.
    paths: HashMap<FileId, PathBuf>,
    next_file: FileId,
    /// The files defining each key with their definition's digest. Hashed, not ordered: it is
    /// looked up for every object read (32,000 at a 10k cold start) and never walked in order.
    owners: HashMap<Key, Owners>,
    /// Served digest of each key touched since the last flush, as it was before (ordered: the
    /// flush sends its events sorted by key).
    before: BTreeMap<Key, Option<Digest>>,
    /// Definitions read since the last flush, by key, with the file of each (almost always one).
    fresh: HashMap<Key, Vec<(FileId, Object)>>,
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
        let id = self.file_id(path);
        let mut new = BTreeMap::new();
        let digests = parsed.digests;
        let known = digests.len() == parsed.objects.len();
        for (i, object) in parsed.objects.into_iter().enumerate() {
            let key = self.key(&object.key());
            let digest = if known { digests[i] } else { digest(&object) };
            if new.insert(key.clone(), digest).is_some() {
                warn!(file = %path.display(), %key, "object defined twice in one file; the last definition wins");
            }
            self.keep_fresh(key, id, object);
        }
        let old = self
            .files
            .get(path)
            .map(|f| f.keys.clone())
            .unwrap_or_default();
        for key in old {
            if new.contains_key(&key) {
                continue;
            }
            let kept = parsed.unreadable
                || (!parsed.rejected.is_empty() && parsed.rejected.contains(&key.object_key()));
            let digest = self.owners.get(&key).and_then(|o| o.digest_in(id));
            if kept && let Some(digest) = digest {
                warn!(
                    file = %path.display(), %key,
                    "keeping the last good version of an object whose manifest is invalid"
                );
                new.insert(key, digest);
            }
        }
        self.replace(path, id, new);
    }

    /// The id of `path`, a new one for a file not known yet.
    fn file_id(&mut self, path: &Path) -> FileId {
        if let Some(file) = self.files.get(path) {
            return file.id;
        }
        let id = self.next_file;
        self.next_file += 1;
        self.paths.insert(id, path.to_path_buf());
        self.files.insert(
            path.to_path_buf(),
            File {
                id,
                keys: Box::default(),
            },
        );
        id
    }

    /// The store's form of `key`, sharing the allocation of a known key.
    fn key(&self, key: &ObjectKey) -> Key {
        let new = Key::new(key);
        match self.owners.get_key_value(&new) {
            Some((known, _)) => known.clone(),
            None => new,
        }
    }

    fn path(&self, file: FileId) -> &Path {
        self.paths
            .get(&file)
            .map_or(Path::new(""), PathBuf::as_path)
    }

    /// Forgets a file that no longer exists: its objects are deleted, or fall back to another
    /// file's definition.
    pub fn remove_file(&mut self, path: &Path) {
        if let Some(file) = self.files.get(path) {
            let id = file.id;
            self.replace(path, id, BTreeMap::new());
            self.files.remove(path);
            self.paths.remove(&id);
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

    /// Makes `new` what file `id` at `path` defines.
    fn replace(&mut self, path: &Path, id: FileId, new: BTreeMap<Key, Digest>) {
        let old = self
            .files
            .get_mut(path)
            .map(|f| std::mem::take(&mut f.keys))
            .unwrap_or_default();
        for key in old.iter().chain(new.keys()) {
            if !self.before.contains_key(key) {
                let served = self.served(key).map(|(_, d)| d);
                self.before.insert(key.clone(), served);
            }
        }
        for key in old.iter().filter(|k| !new.contains_key(*k)) {
            self.disown(key, id);
            if let Some((fallback, _)) = self.served(key) {
                info!(
                    %key, file = %self.path(fallback).display(),
                    "object still defined by another file; serving that definition"
                );
            }
        }
        for (key, digest) in &new {
            let owners = self.owners.get(key);
            if owners.and_then(|o| o.digest_in(id)) == Some(*digest) {
                continue;
            }
            // A new or changed definition becomes the served one.
            let owners = match owners {
                Some(o) => o.served_from(id, *digest),
                None => Owners::One((id, *digest)),
            };
            if let Owners::Many(many) = &owners {
                let files: Vec<&Path> = many.iter().map(|(f, _)| self.path(*f)).collect();
                warn!(
                    %key, served_from = %path.display(), ?files,
                    "object defined in more than one file; the most recently read definition wins"
                );
            }
            self.owners.insert(key.clone(), owners);
        }
        if let Some(file) = self.files.get_mut(path) {
            file.keys = new.into_keys().collect();
        }
    }

    /// Holds a definition just read until the next flush (the latest read of a file wins).
    fn keep_fresh(&mut self, key: Key, file: FileId, object: Object) {
        let defs = self.fresh.entry(key).or_default();
        match defs.iter_mut().find(|(f, _)| *f == file) {
            Some(def) => def.1 = object,
            None => defs.push((file, object)),
        }
    }

    /// Whether the definition of `key` in `file` was read since the last flush.
    fn is_fresh(&self, key: &Key, file: FileId) -> bool {
        self.fresh
            .get(key)
            .is_some_and(|defs| defs.iter().any(|(f, _)| *f == file))
    }

    fn disown(&mut self, key: &Key, file: FileId) {
        if let Some(owners) = self.owners.get_mut(key)
            && owners.digest_in(file).is_some()
        {
            match owners.without(file) {
                Some(rest) => *owners = rest,
                None => _ = self.owners.remove(key),
            }
        }
    }

    /// The file serving `key` and its definition's digest.
    fn served(&self, key: &Key) -> Option<(FileId, Digest)> {
        self.owners.get(key)?.served()
    }

    /// Files whose definitions the next flush must send but that were not read since the last
    /// flush (a fallback to another file's definition): read them again before flushing.
    pub fn unread_served_files(&self) -> BTreeSet<PathBuf> {
        let mut out = BTreeSet::new();
        for (key, old) in &self.before {
            if let Some((file, now)) = self.served(key)
                && *old != Some(now)
                && !self.is_fresh(key, file)
            {
                out.insert(self.path(file).to_path_buf());
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
                (_, Some((file, _))) => match take_fresh(&mut fresh, &key, file) {
                    Some(object) => events.push(SourceEvent::Upsert(object)),
                    None => warn!(
                        %key, file = %self.path(file).display(),
                        "cannot serve a definition that could not be read again"
                    ),
                },
                (Some(_), None) => events.push(SourceEvent::Delete(key.object_key())),
                (None, None) => {}
            }
        }
        events
    }
}

/// The definition of `key` read from `file`, taken out of `fresh`.
fn take_fresh(
    fresh: &mut HashMap<Key, Vec<(FileId, Object)>>,
    key: &Key,
    file: FileId,
) -> Option<Object> {
    let defs = fresh.get_mut(key)?;
    let i = defs.iter().position(|(f, _)| *f == file)?;
    Some(defs.swap_remove(i).1)
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
