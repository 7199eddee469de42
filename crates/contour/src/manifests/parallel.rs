//! Reading and parsing many files at once (initial load, rescans), on every core, in bounded
//! chunks, pipelined: while the store takes one chunk's objects (and, during the initial load,
//! sends them to the event loop), the next chunk is being parsed. The bytes and parsed objects
//! of two chunks at most are in memory at once.

use std::fs;
use std::path::{Path, PathBuf};
use std::thread;

use super::decode::{ParsedFile, parse_file};
use super::store::digest;

/// File bytes parsed per chunk: bounds the transient memory of a load (two chunks at once).
const CHUNK_BYTES: u64 = 2 << 20;

/// One file read and parsed, in the order it was given.
pub(super) struct ReadFile {
    pub path: PathBuf,
    pub parsed: std::io::Result<ParsedFile>,
}

/// Splits `files` (with their sizes) into consecutive chunks of about [`CHUNK_BYTES`].
pub(super) fn chunks(files: Vec<(PathBuf, u64)>) -> Vec<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    let mut bytes = 0u64;
    for (path, len) in files {
        current.push(path);
        bytes += len;
        if bytes >= CHUNK_BYTES {
            out.push(std::mem::take(&mut current));
            bytes = 0;
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Reads and parses one file, and digests its objects here, on a reading thread, rather than
/// in the store's single thread.
fn read_and_parse(path: &Path) -> std::io::Result<ParsedFile> {
    let bytes = fs::read(path)?;
    let mut parsed = parse_file(path, &bytes);
    parsed.digests = parsed.objects.iter().map(digest).collect();
    Ok(parsed)
}

/// Reads and parses `chunks` one after another, and hands each chunk's files, in order, to
/// `apply` while the next chunk is being read and parsed.
pub(super) fn read_chunks(chunks: Vec<Vec<PathBuf>>, mut apply: impl FnMut(Vec<ReadFile>)) {
    let dispatch = tracing::dispatcher::get_default(Clone::clone);
    let span = tracing::Span::current();
    thread::scope(|scope| {
        let start = |files: Vec<PathBuf>| {
            let (dispatch, span) = (dispatch.clone(), span.clone());
            scope.spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || span.in_scope(|| read_all(&files)))
            })
        };
        let mut chunks = chunks.into_iter();
        let mut pending = chunks.next().map(start);
        while let Some(reading) = pending.take() {
            let read = match reading.join() {
                Ok(read) => read,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            pending = chunks.next().map(start);
            apply(read);
        }
    });
}

/// Reads and parses `files` on up to one thread per core; results keep the order of `files`.
pub(super) fn read_all(files: &[PathBuf]) -> Vec<ReadFile> {
    let threads = thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 8)
        .min(files.len().max(1));
    let dispatch = tracing::dispatcher::get_default(Clone::clone);
    let span = tracing::Span::current();
    let per_thread = files.len().div_ceil(threads).max(1);
    thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(per_thread)
            .map(|part| {
                let (dispatch, span) = (dispatch.clone(), span.clone());
                scope.spawn(move || {
                    tracing::dispatcher::with_default(&dispatch, || {
                        span.in_scope(|| {
                            part.iter()
                                .map(|path| ReadFile {
                                    path: path.clone(),
                                    parsed: read_and_parse(path),
                                })
                                .collect::<Vec<_>>()
                        })
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(files) => files,
                // Parsing does not panic on any input; should it, the panic is not swallowed.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_bounded_and_ordered() {
        let files: Vec<(PathBuf, u64)> = (0..7)
            .map(|i| (PathBuf::from(format!("/m/{i}.yaml")), CHUNK_BYTES / 3 + 1))
            .collect();
        let chunks = chunks(files);
        assert_eq!(chunks.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 1]);
        assert_eq!(chunks[1][0], PathBuf::from("/m/3.yaml"));
    }

    #[test]
    fn read_chunks_hands_over_every_chunk_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut chunks = Vec::new();
        for c in 0..4 {
            let mut chunk = Vec::new();
            for i in 0..3 {
                let path = dir.path().join(format!("{c}-{i}.yaml"));
                let yaml =
                    format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: ns-{c}-{i}}}\n");
                fs::write(&path, yaml).unwrap();
                chunk.push(path);
            }
            chunks.push(chunk);
        }
        let mut names = Vec::new();
        read_chunks(chunks, |read| {
            names.push(
                read.iter()
                    .map(|r| r.parsed.as_ref().unwrap().objects[0].key().name)
                    .collect::<Vec<_>>(),
            );
        });
        let expected: Vec<Vec<String>> = (0..4)
            .map(|c| (0..3).map(|i| format!("ns-{c}-{i}")).collect())
            .collect();
        assert_eq!(names, expected);
    }

    #[test]
    fn read_all_keeps_order_and_reports_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        for i in 0..7 {
            let path = dir.path().join(format!("{i}.yaml"));
            let yaml = format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: ns-{i}}}\n");
            fs::write(&path, yaml).unwrap();
            files.push(path);
        }
        files.push(dir.path().join("missing.yaml"));
        let read = read_all(&files);
        assert_eq!(read.len(), 8);
        for (i, r) in read.iter().take(7).enumerate() {
            assert_eq!(r.path, files[i]);
            let parsed = r.parsed.as_ref().unwrap();
            assert_eq!(parsed.objects[0].key().name, format!("ns-{i}"));
        }
        assert!(read[7].parsed.is_err());
    }
}
