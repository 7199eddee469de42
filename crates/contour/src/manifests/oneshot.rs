//! Reading a manifests directory once, without watching it (`contour validate`): the same
//! file selection, decoding and admission as the watched source.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use contour_dag::{Object, ObjectKey};

use super::decode::parse_file;
use super::watch::walk;

/// Everything a directory defines, and what could not be read.
#[derive(Debug, Default)]
pub struct DirContents {
    /// Accepted objects, one per key: when several files define a key, the last file in path
    /// order wins (see [`Self::redefined`]).
    pub objects: Vec<Object>,
    /// Files, documents and objects that were skipped.
    pub problems: Vec<FileProblem>,
    /// Keys defined by more than one file, with those files.
    pub redefined: BTreeMap<ObjectKey, Vec<PathBuf>>,
}

/// One skipped document (or file), located for a human.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    /// Path relative to the directory.
    pub file: PathBuf,
    pub document: usize,
    pub item: Option<usize>,
    pub line: usize,
    pub object: Option<String>,
    pub reason: String,
}

/// Reads every manifest file under `dir`. Fails only when `dir` is not a readable directory.
pub fn read_dir_once(dir: &Path) -> anyhow::Result<DirContents> {
    let root = std::fs::canonicalize(dir)
        .with_context(|| format!("manifests directory {} cannot be opened", dir.display()))?;
    if !root.is_dir() {
        bail!("manifests path {} is not a directory", dir.display());
    }
    let mut files = Default::default();
    let mut unlisted = Vec::new();
    walk(&root, &mut files, &mut unlisted);
    let mut out = DirContents::default();
    let relative = |p: &Path| p.strip_prefix(&root).unwrap_or(p).to_path_buf();
    for path in unlisted {
        out.problems.push(FileProblem {
            file: relative(&path),
            document: 0,
            item: None,
            line: 0,
            object: None,
            reason: "cannot be listed or inspected".into(),
        });
    }
    let mut by_key: BTreeMap<ObjectKey, (PathBuf, Object)> = BTreeMap::new();
    for path in files {
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => {
                out.problems.push(FileProblem {
                    file: relative(&path),
                    document: 0,
                    item: None,
                    line: 0,
                    object: None,
                    reason: format!("cannot be read: {e}"),
                });
                continue;
            }
        };
        let parsed = parse_file(&path, &bytes);
        for p in parsed.problems {
            out.problems.push(FileProblem {
                file: relative(&path),
                document: p.document,
                item: p.item,
                line: p.line,
                object: p.key.map(|k| k.to_string()),
                reason: p.reason,
            });
        }
        for object in parsed.objects {
            let key = object.key();
            if let Some((previous, _)) = by_key.insert(key.clone(), (relative(&path), object)) {
                let files = out.redefined.entry(key).or_default();
                if files.is_empty() {
                    files.push(previous);
                }
                files.push(relative(&path));
            }
        }
    }
    out.objects = by_key.into_values().map(|(_, o)| o).collect();
    Ok(out)
}
