//! The HTTP face of the test API server: Kubernetes REST paths, verbs and error `Status`es.
//!
//! ```text
//! /api/v1/[namespaces/{ns}/]{plural}[/{name}[/status]]
//! /apis/{group}/{version}/[namespaces/{ns}/]{plural}[/{name}[/status]]
//! /version, /healthz, /readyz, /livez
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::selector::Selector;
use super::store::{Name, Store, StoreError, Target};
use super::types::ResourceType;
use super::watch::{WatchRequest, start as start_watch};

/// One request the server answered, for assertions (who wrote what).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    /// The bearer token of the request (each test kubeconfig names its user by token), or
    /// `anonymous`.
    pub user: String,
    pub code: u16,
}

impl RequestRecord {
    /// A write to a `/status` subresource.
    pub fn is_status_write(&self) -> bool {
        matches!(self.method.as_str(), "PUT" | "PATCH") && self.path.ends_with("/status")
    }
}

pub struct Shared {
    store: Mutex<Store>,
    pub outage: AtomicBool,
    pub drops: watch::Sender<u64>,
    pub watches: AtomicUsize,
    pub requests: Mutex<Vec<RequestRecord>>,
    pub bookmark_interval: Duration,
}

impl Shared {
    pub fn new(store: Store, bookmark_interval: Duration) -> Shared {
        Shared {
            store: Mutex::new(store),
            outage: AtomicBool::new(false),
            drops: watch::channel(0).0,
            watches: AtomicUsize::new(0),
            requests: Mutex::new(Vec::new()),
            bookmark_interval,
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Ends every open watch stream.
    pub fn drop_watches(&self) {
        self.drops.send_modify(|n| *n += 1);
    }
}

/// A Kubernetes `Status` object for an error.
pub fn status_body(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code,
    })
}

fn status_response(code: u16, reason: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(status_body(code, reason, message))).into_response()
}

fn error_response(e: &StoreError) -> Response {
    let (code, reason, message) = e.code_reason();
    status_response(code, reason, message)
}

fn json_response(v: &Value) -> Response {
    axum::Json(v.clone()).into_response()
}

/// A parsed resource path.
struct Addressed {
    rt: ResourceType,
    namespace: Option<String>,
    name: Option<String>,
    status: bool,
}

fn parse_path(store: &Store, path: &str) -> Option<Addressed> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return None,
    };
    let namespaced_rest = match rest {
        ["namespaces", ns, plural, tail @ ..]
            if store
                .resource(group, version, plural)
                .is_some_and(|t| t.namespaced) =>
        {
            Some((Some((*ns).to_string()), *plural, tail))
        }
        _ => None,
    };
    let (namespace, plural, tail) = match namespaced_rest {
        Some(x) => x,
        None => match rest {
            [plural, tail @ ..] => (None, *plural, tail),
            [] => return None,
        },
    };
    let rt = store.resource(group, version, plural)?;
    let (name, status) = match tail {
        [] => (None, false),
        [name] => (Some((*name).to_string()), false),
        [name, "status"] => (Some((*name).to_string()), true),
        _ => return None,
    };
    Some(Addressed {
        rt,
        namespace,
        name,
        status,
    })
}

fn user_of(req: &Request) -> String {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map_or_else(|| "anonymous".to_string(), str::to_string)
}

/// The single handler: routes by path and method.
pub async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let user = user_of(&req);
    let response = if shared.outage.load(Ordering::SeqCst) {
        status_response(
            503,
            "ServiceUnavailable",
            "the test API server is in an outage",
        )
    } else {
        route(&shared, req).await
    };
    let record = RequestRecord {
        method: method.to_string(),
        path,
        user,
        code: response.status().as_u16(),
    };
    if let Ok(mut r) = shared.requests.lock() {
        r.push(record);
    }
    response
}

async fn route(shared: &Arc<Shared>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    match path.as_str() {
        "/version" => {
            return json_response(&json!({
                "major": "1", "minor": "36", "gitVersion": "v1.36.0-testkit",
                "platform": "linux/amd64", "goVersion": "go1.26", "compiler": "gc",
                "gitCommit": "", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
            }));
        }
        "/healthz" | "/readyz" | "/livez" => return "ok".into_response(),
        _ => {}
    }
    let query: HashMap<String, String> = Query::try_from_uri(req.uri())
        .map(|q| q.0)
        .unwrap_or_default();
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    let method = req.method().clone();
    let Some(target) = parse_path(&shared.lock(), &path) else {
        return status_response(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
    };
    let body = match axum::body::to_bytes(req.into_body(), 64 << 20).await {
        Ok(b) => b,
        Err(e) => return status_response(400, "BadRequest", &e.to_string()),
    };
    let body_json = || -> Result<Value, String> {
        serde_json::from_slice(&body).map_err(|e| format!("invalid JSON body: {e}"))
    };
    match (method, target.name.clone()) {
        (Method::GET, None) => collection_get(shared, &target, &query),
        (Method::GET, Some(name)) => object(shared.lock().get(&target.rt, &key(&target, name))),
        (Method::POST, None) => match body_json() {
            Ok(v) => create(shared, &target, v),
            Err(m) => status_response(400, "BadRequest", &m),
        },
        (Method::PUT, Some(name)) => match body_json() {
            Ok(v) => object(shared.lock().replace(
                &target.rt,
                &key(&target, name),
                v,
                which(&target),
            )),
            Err(m) => status_response(400, "BadRequest", &m),
        },
        (Method::PATCH, Some(name)) => {
            if content_type.starts_with("application/json-patch") {
                return status_response(
                    415,
                    "UnsupportedMediaType",
                    "json-patch is not supported by the test API server",
                );
            }
            match body_json() {
                Ok(v) => object(shared.lock().patch(
                    &target.rt,
                    &key(&target, name),
                    &v,
                    which(&target),
                )),
                Err(m) => status_response(400, "BadRequest", &m),
            }
        }
        (Method::DELETE, Some(name)) => {
            object(shared.lock().delete(&target.rt, &key(&target, name)))
        }
        _ => status_response(405, "MethodNotAllowed", "method not allowed"),
    }
}

fn which(t: &Addressed) -> Target {
    if t.status {
        Target::Status
    } else {
        Target::Main
    }
}

fn key(t: &Addressed, name: String) -> Name {
    (t.namespace.clone().unwrap_or_default(), name)
}

fn object(r: Result<Arc<Value>, StoreError>) -> Response {
    match r {
        Ok(v) => json_response(&v),
        Err(e) => error_response(&e),
    }
}

fn create(shared: &Shared, target: &Addressed, v: Value) -> Response {
    let ns = target.namespace.clone().unwrap_or_default();
    if target.rt.namespaced && ns.is_empty() {
        return status_response(400, "BadRequest", "a namespace is required");
    }
    let body_ns = v
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or(&ns);
    if target.rt.namespaced && body_ns != ns {
        return status_response(
            400,
            "BadRequest",
            "the namespace of the object does not match the namespace of the request",
        );
    }
    match shared.lock().create(&target.rt, &ns, v) {
        Ok(v) => (StatusCode::CREATED, axum::Json((*v).clone())).into_response(),
        Err(e) => error_response(&e),
    }
}

fn truthy(q: &HashMap<String, String>, k: &str) -> bool {
    q.get(k).is_some_and(|v| v == "true" || v == "1")
}

fn collection_get(
    shared: &Arc<Shared>,
    target: &Addressed,
    q: &HashMap<String, String>,
) -> Response {
    let (fields, labels) = match (
        Selector::fields(q.get("fieldSelector").map(String::as_str)),
        Selector::labels(q.get("labelSelector").map(String::as_str)),
    ) {
        (Ok(f), Ok(l)) => (f, l),
        (Err(e), _) | (_, Err(e)) => return status_response(400, "BadRequest", &e.0),
    };
    if truthy(q, "watch") {
        let req = WatchRequest {
            rt: target.rt.clone(),
            namespace: target.namespace.clone(),
            fields,
            labels,
            since: q.get("resourceVersion").and_then(|v| v.parse().ok()),
            bookmarks: truthy(q, "allowWatchBookmarks"),
            initial_events: truthy(q, "sendInitialEvents"),
            timeout: q
                .get("timeoutSeconds")
                .and_then(|v| v.parse().ok())
                .map(Duration::from_secs),
        };
        let body = start_watch(shared, req);
        return Response::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .unwrap_or_else(|_| Response::new(Body::empty()));
    }
    let limit = q
        .get("limit")
        .and_then(|v| v.parse().ok())
        .filter(|l: &usize| *l > 0);
    let store = shared.lock();
    let page = store.list(
        &target.rt,
        target.namespace.as_deref(),
        &fields,
        &labels,
        limit,
        q.get("continue").map(String::as_str),
    );
    let mut meta = json!({"resourceVersion": page.rv.to_string()});
    if let Some(c) = page.continue_token {
        meta["continue"] = json!(c);
    }
    let items: Vec<&Value> = page.items.iter().map(AsRef::as_ref).collect();
    json_response(&json!({
        "kind": format!("{}List", target.rt.kind),
        "apiVersion": target.rt.api_version(),
        "metadata": meta,
        "items": items,
    }))
}
