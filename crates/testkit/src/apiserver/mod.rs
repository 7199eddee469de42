//! A test Kubernetes API server that speaks the real protocol, so kube-rs clients (and
//! `contour serve` through a kubeconfig) work against it unchanged.
//!
//! - list with `limit`/`continue`, field and label selectors, `resourceVersion`;
//! - watch from a resourceVersion, with bookmarks, `sendInitialEvents`, `timeoutSeconds`, and an
//!   `ERROR` 410 event for versions older than the last compaction ([`ApiServer::compact`]);
//! - create/get/replace/merge-patch/delete with optimistic concurrency (409 on a stale
//!   `resourceVersion`), `metadata.generation`, `managedFields`, and `/status` subresources;
//! - Leases (any registered kind works the same way); `/version` and `/healthz`;
//! - fault injection: [`ApiServer::drop_watches`], [`ApiServer::set_outage`];
//! - a request log with the bearer token of each request ([`ApiServer::requests`]).
//!
//! It runs on its own thread and runtime, so it keeps answering while a test blocks.

mod http;
mod patch;
mod selector;
mod store;
mod types;
mod watch;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, anyhow};
use serde_json::Value;

pub use http::RequestRecord;
pub use patch::rfc3339;
pub use selector::Selector;
pub use types::ResourceType;

use http::Shared;
use store::{Store, Target};

/// Options for [`ApiServer::start_with`].
#[derive(Debug, Clone)]
pub struct ApiServerOptions {
    pub types: Vec<ResourceType>,
    /// Changes kept for resuming watches; older versions get 410 Gone.
    pub history_limit: usize,
    /// How often watches that allow bookmarks get one.
    pub bookmark_interval: Duration,
}

impl Default for ApiServerOptions {
    fn default() -> Self {
        ApiServerOptions {
            types: ResourceType::defaults(),
            history_limit: 10_000,
            bookmark_interval: Duration::from_secs(1),
        }
    }
}

/// A running test API server; stops on drop.
pub struct ApiServer {
    port: u16,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ApiServer {
    /// Starts a server with Kubernetes' kinds and Contour's CRDs on a free loopback port.
    ///
    /// # Errors
    /// When the port cannot be bound or the thread cannot start.
    pub fn start() -> anyhow::Result<ApiServer> {
        Self::start_with(ApiServerOptions::default())
    }

    /// Starts a server with `opts`.
    ///
    /// # Errors
    /// As for [`ApiServer::start`].
    pub fn start_with(opts: ApiServerOptions) -> anyhow::Result<ApiServer> {
        let listener = crate::ports::bind_unique().context("binding the test API server")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared::new(
            Store::new(opts.types, opts.history_limit),
            opts.bookmark_interval,
        ));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = axum::Router::new()
            .fallback(http::handle)
            .with_state(shared.clone());
        let thread = std::thread::Builder::new()
            .name("testkit-apiserver".into())
            .spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    // Not graceful: open watches and clients must not keep a test waiting.
                    tokio::select! {
                        _ = axum::serve(listener, app) => {}
                        _ = stopped => {}
                    }
                });
                rt.shutdown_timeout(Duration::from_millis(100));
            })
            .context("starting the test API server thread")?;
        Ok(ApiServer {
            port,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A kubeconfig pointing at this server whose requests carry `Bearer <user>`.
    pub fn kubeconfig(&self, user: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: testkit\n  cluster: {{server: \"{}\"}}\n\
             users:\n- name: {user}\n  user: {{token: \"{user}\"}}\ncontexts:\n- name: testkit\n  \
             context: {{cluster: testkit, user: {user}, namespace: default}}\ncurrent-context: testkit\n",
            self.url()
        )
    }

    /// Writes [`Self::kubeconfig`] for `user` to `dir/<user>.kubeconfig` and returns the path.
    ///
    /// # Errors
    /// On I/O errors.
    pub fn write_kubeconfig(&self, dir: &Path, user: &str) -> anyhow::Result<PathBuf> {
        let path = dir.join(format!("{user}.kubeconfig"));
        std::fs::write(&path, self.kubeconfig(user))
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    fn type_of(&self, obj: &Value) -> anyhow::Result<ResourceType> {
        let av = obj["apiVersion"].as_str().unwrap_or_default();
        let kind = obj["kind"].as_str().unwrap_or_default();
        self.shared
            .lock()
            .resource_of(av, kind)
            .ok_or_else(|| anyhow!("the test API server does not serve {av} {kind}"))
    }

    fn named(&self, api_version: &str, kind: &str) -> anyhow::Result<ResourceType> {
        self.shared
            .lock()
            .resource_of(api_version, kind)
            .ok_or_else(|| anyhow!("the test API server does not serve {api_version} {kind}"))
    }

    /// Creates `obj`, or replaces the stored object of the same name (ignoring its
    /// resourceVersion); a `status` in `obj` is written too. Returns the stored object.
    ///
    /// # Errors
    /// When the kind is not served or the object is invalid.
    pub fn apply(&self, obj: Value) -> anyhow::Result<Value> {
        let rt = self.type_of(&obj)?;
        let ns = obj["metadata"]["namespace"].as_str().unwrap_or("default");
        let ns = if rt.namespaced {
            ns.to_string()
        } else {
            String::new()
        };
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let key = (ns.clone(), name);
        let mut store = self.shared.lock();
        let mut unversioned = obj.clone();
        unversioned["metadata"]["resourceVersion"] = Value::Null;
        let stored = match store.get(&rt, &key) {
            Ok(_) => store.replace(&rt, &key, unversioned, Target::Main),
            Err(_) => store.create(&rt, &ns, unversioned),
        }
        .map_err(|e| anyhow!("{e:?}"))?;
        let stored = match obj.get("status") {
            Some(status) if rt.status_subresource => store
                .replace(
                    &rt,
                    &key,
                    serde_json::json!({"status": status}),
                    Target::Status,
                )
                .map_err(|e| anyhow!("{e:?}"))?,
            _ => stored,
        };
        Ok((*stored).clone())
    }

    /// Applies every document of a YAML or JSON string (see [`Self::apply`]).
    ///
    /// # Errors
    /// As for [`Self::apply`], or when the text does not parse.
    pub fn apply_yaml(&self, yaml: &str) -> anyhow::Result<()> {
        for doc in yaml.split("\n---") {
            let v: Value = serde_norway_like(doc)?;
            if !v.is_null() {
                self.apply(v)?;
            }
        }
        Ok(())
    }

    /// The stored object, if any.
    pub fn get(&self, api_version: &str, kind: &str, ns: &str, name: &str) -> Option<Value> {
        let rt = self.named(api_version, kind).ok()?;
        let ns = if rt.namespaced { ns } else { "" };
        let key = (ns.to_string(), name.to_string());
        self.shared.lock().get(&rt, &key).ok().map(|v| (*v).clone())
    }

    /// Deletes an object; true if it existed.
    pub fn delete(&self, api_version: &str, kind: &str, ns: &str, name: &str) -> bool {
        let Ok(rt) = self.named(api_version, kind) else {
            return false;
        };
        let ns = if rt.namespaced { ns } else { "" };
        let key = (ns.to_string(), name.to_string());
        self.shared.lock().delete(&rt, &key).is_ok()
    }

    /// How many objects of a kind are stored.
    pub fn count(&self, api_version: &str, kind: &str) -> usize {
        self.named(api_version, kind)
            .map_or(0, |rt| self.shared.lock().count(&rt))
    }

    /// Forgets the change history and advances the resourceVersion: resumed watches get 410
    /// Gone and must relist. Combine with [`Self::drop_watches`] to force it now.
    pub fn compact(&self) {
        self.shared.lock().compact();
    }

    /// Ends every open watch stream (clients see the connection end and resume).
    pub fn drop_watches(&self) {
        self.shared.drop_watches();
    }

    /// While on, every request is answered 503 and open watches are dropped: the API server
    /// is unreachable for practical purposes.
    pub fn set_outage(&self, on: bool) {
        self.shared.outage.store(on, Ordering::SeqCst);
        if on {
            self.shared.drop_watches();
        }
    }

    /// The latest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared.lock().current_rv()
    }

    /// Watch streams currently open.
    pub fn open_watches(&self) -> usize {
        self.shared.watches.load(Ordering::SeqCst)
    }

    /// Every request answered so far.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared
            .requests
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Status writes (PUT/PATCH on `/status`) answered with success, by user.
    pub fn status_writes_by(&self, user: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.user == user && r.is_status_write() && r.code < 300)
            .count()
    }
}

/// YAML (or JSON) text to a JSON value.
fn serde_norway_like(doc: &str) -> anyhow::Result<Value> {
    let trimmed = doc.trim();
    if trimmed.is_empty() {
        return Ok(Value::Null);
    }
    serde_norway::from_str(trimmed).context("parsing a manifest")
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.shared.drop_watches();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
