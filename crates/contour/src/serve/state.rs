//! What the debug endpoints show: the latest build's output.

use std::sync::RwLock;

use contour_dag::BuildOutput;
use serde_json::{Value, json};

#[derive(Default)]
pub struct SharedState {
    latest: RwLock<Option<BuildOutput>>,
    /// The ContourConfiguration in use and its status (`--contour-config-name`).
    contour_configuration: RwLock<Option<Value>>,
}

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

    pub fn publish(&self, out: BuildOutput) {
        if let Ok(mut guard) = self.latest.write() {
            *guard = Some(out);
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
        list.extend(out.status.proxies.iter().map(|((ns, name), st)| {
            json!({"kind": "HTTPProxy", "namespace": ns, "name": name, "status": st.to_api()})
        }));
        Value::Array(list)
    }
}
