//! What the debug endpoints show: the latest build's output.

use std::collections::VecDeque;
use std::sync::{Mutex, OnceLock, RwLock};
use std::time::Instant;

use contour_dag::BuildOutput;
use serde_json::{Value, json};

pub struct SharedState {
    latest: RwLock<Option<BuildOutput>>,
    /// The ContourConfiguration in use and its status (`--contour-config-name`).
    contour_configuration: RwLock<Option<Value>>,
    started: Instant,
    first_build_ms: OnceLock<f64>,
    /// Durations of the most recent builds (build + translate + publish), in milliseconds.
    build_ms: Mutex<VecDeque<f64>>,
}

const BUILD_SAMPLES: usize = 256;

impl SharedState {
    /// Records the ContourConfiguration the process runs with. It was validated at startup (an
    /// invalid one ends the process), so its `Valid` condition is true.
    pub fn set_contour_configuration(&self, namespace: &str, name: &str) {
        let condition = json!({
            "type": "Valid",
            "status": "True",
            "reason": "Valid",
            "message": "Valid ContourConfiguration",
        });
        let entry = json!({
            "kind": "ContourConfiguration",
            "namespace": namespace,
            "name": name,
            "status": {"conditions": [condition]},
        });
        if let Ok(mut guard) = self.contour_configuration.write() {
            *guard = Some(entry);
        }
    }

    pub fn new(started: Instant) -> Self {
        SharedState {
            latest: RwLock::new(None),
            started,
            first_build_ms: OnceLock::new(),
            build_ms: Mutex::new(VecDeque::new()),
            contour_configuration: RwLock::new(None),
        }
    }

    /// Milliseconds from process start to the first published build.
    pub fn first_build_ms(&self) -> Option<f64> {
        self.first_build_ms.get().copied()
    }

    /// Durations of recent builds in milliseconds, oldest first.
    pub fn build_ms(&self) -> Vec<f64> {
        self.build_ms
            .lock()
            .map(|b| b.iter().copied().collect())
            .unwrap_or_default()
    }

    pub fn publish(&self, out: BuildOutput, build_ms: f64) {
        if let Ok(mut b) = self.build_ms.lock() {
            if b.len() == BUILD_SAMPLES {
                b.pop_front();
            }
            b.push_back(build_ms);
        }
        let _ = self
            .first_build_ms
            .set(self.started.elapsed().as_secs_f64() * 1000.0);
        if let Ok(mut guard) = self.latest.write() {
            *guard = Some(out);
        }
    }

    /// `/debug/dag`: the latest build's graph in Graphviz dot (an empty graph before the first
    /// build).
    pub fn dag_dot(&self) -> String {
        let empty = contour_dag::Dag::default();
        match self.latest.read() {
            Ok(guard) => super::dag_dot::dag_dot(guard.as_ref().map_or(&empty, |o| &o.dag)),
            Err(_) => super::dag_dot::dag_dot(&empty),
        }
    }

    /// `/debug/status`: a list of `{kind, namespace, name, status}` in upstream's status shape.
    pub fn status_json(&self) -> Value {
        let mut list: Vec<Value> = self
            .contour_configuration
            .read()
            .ok()
            .and_then(|g| g.clone())
            .into_iter()
            .collect();
        let guard = match self.latest.read() {
            Ok(g) => g,
            Err(_) => return Value::Array(list),
        };
        let Some(out) = guard.as_ref() else {
            return Value::Array(list);
        };
        list.extend(out.status.sorted_proxies().into_iter().map(|((ns, name), st)| {
            json!({"kind": "HTTPProxy", "namespace": ns, "name": name, "status": st.to_api()})
        }));
        list.extend(out.status.extensions.iter().map(|((ns, name), st)| {
            let status = json!({"conditions": [st.to_condition()]});
            json!({"kind": "ExtensionService", "namespace": ns, "name": name, "status": status})
        }));
        Value::Array(list)
    }
}
