//! The source against a real directory: tempdirs, real file operations, real `notify`.
//! Tests never sleep: they wait on the channel with a timeout, and prove that an operation
//! produced no event with a barrier (a sentinel file whose Upsert and Delete must arrive).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use contour_dag::{Kind, Object, ObjectKey};
use tempfile::TempDir;
use tokio::sync::mpsc::{Receiver, channel};

use super::*;

const TIMEOUT: Duration = Duration::from_secs(10);

pub(super) fn service_yaml(name: &str, port: u16) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  ports:\n  - port: {port}\n"
    )
}

pub(super) fn key(kind: Kind, namespace: &str, name: &str) -> ObjectKey {
    ObjectKey {
        kind,
        namespace: namespace.into(),
        name: name.into(),
    }
}

pub(super) fn svc(name: &str) -> ObjectKey {
    key(Kind::Service, "default", name)
}

pub(super) fn port_of(object: &Object) -> Option<i32> {
    match object {
        Object::Service(s) => Some(s.spec.as_ref()?.ports.as_ref()?.first()?.port),
        _ => None,
    }
}

/// A watched temporary directory and the objects the source serves, as a consumer would see.
pub(super) struct Fixture {
    pub dir: TempDir,
    pub root: PathBuf,
    pub rx: Receiver<SourceEvent>,
    pub handle: ManifestSourceHandle,
    pub state: BTreeMap<ObjectKey, Object>,
    sentinels: usize,
}

impl Fixture {
    /// Writes `files` (relative path, content), starts the source and waits for the initial load.
    pub async fn start(files: &[(&str, &str)]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in files {
            write(&dir.path().join(path), content);
        }
        let (tx, rx) = channel(1024);
        let handle = ManifestSource::start(dir.path().to_path_buf(), tx).unwrap();
        let root = handle.root().to_path_buf();
        let mut fixture = Fixture {
            dir,
            root,
            rx,
            handle,
            state: BTreeMap::new(),
            sentinels: 0,
        };
        loop {
            match fixture.next().await {
                SourceEvent::InitialSyncDone => break,
                event => fixture.apply(&event),
            }
        }
        fixture
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    pub async fn next(&mut self) -> SourceEvent {
        match tokio::time::timeout(TIMEOUT, self.rx.recv()).await {
            Ok(Some(event)) => event,
            Ok(None) => panic!("source stopped"),
            Err(_) => panic!(
                "no event within {TIMEOUT:?}; state: {:?}",
                self.state.keys()
            ),
        }
    }

    fn apply(&mut self, event: &SourceEvent) {
        match event {
            SourceEvent::Upsert(object) => _ = self.state.insert(object.key(), object.clone()),
            SourceEvent::Delete(key) => _ = self.state.remove(key),
            SourceEvent::InitialSyncDone => panic!("InitialSyncDone sent twice"),
        }
    }

    /// Waits for the next event and applies it to the state.
    pub async fn change(&mut self) -> SourceEvent {
        let event = self.next().await;
        self.apply(&event);
        event
    }

    /// Every event up to now: writes a sentinel file and deletes it, and returns what arrived
    /// before the sentinel's Delete (the sentinel's own events excluded).
    pub async fn settle(&mut self) -> Vec<SourceEvent> {
        self.sentinels += 1;
        let name = format!("sentinel-{}", self.sentinels);
        let sentinel = key(Kind::Namespace, "", &name);
        let path = self.path("sentinel.yaml");
        write(
            &path,
            &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n"),
        );
        let mut events = Vec::new();
        let mut upserted = false;
        loop {
            let event = self.next().await;
            match &event {
                SourceEvent::Upsert(o) if o.key() == sentinel && !upserted => {
                    upserted = true;
                    fs::remove_file(&path).unwrap();
                }
                SourceEvent::Delete(k) if *k == sentinel && upserted => return events,
                _ => {
                    self.apply(&event);
                    events.push(event);
                }
            }
        }
    }
}

pub(super) fn write(path: &Path, content: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

/// Captures the logs of the current thread and of the source threads started meanwhile.
#[derive(Clone, Default)]
pub(super) struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let logs = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || logs.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn start_fails_clearly_without_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, _rx) = channel(1);
    let missing = dir.path().join("missing");
    let err = ManifestSource::start(missing, tx.clone()).err().unwrap();
    assert!(format!("{err:#}").contains("missing"), "{err:#}");
    let file = dir.path().join("file.yaml");
    write(&file, "");
    let err = ManifestSource::start(file, tx).err().unwrap();
    assert!(format!("{err:#}").contains("not a directory"), "{err:#}");
}

#[tokio::test]
async fn dropping_the_handle_stops_the_source() {
    let fixture = Fixture::start(&[("a.yaml", &service_yaml("a", 80))]).await;
    let Fixture {
        mut rx,
        handle,
        dir,
        ..
    } = fixture;
    drop(handle);
    let closed = tokio::time::timeout(TIMEOUT, async { while rx.recv().await.is_some() {} });
    closed
        .await
        .expect("the source thread ends once its handle is dropped");
    drop(dir);
}

#[path = "tests_watch.rs"]
mod watch;

#[path = "tests_admission.rs"]
mod admission;
