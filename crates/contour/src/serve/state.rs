//! What the debug endpoints show: the latest build's output.

use std::sync::RwLock;

use contour_dag::BuildOutput;
use serde_json::{Value, json};

#[derive(Default)]
pub struct SharedState {
    latest: RwLock<Option<BuildOutput>>,
}

impl SharedState {
    pub fn publish(&self, out: BuildOutput) {
        if let Ok(mut guard) = self.latest.write() {
            *guard = Some(out);
        }
    }

    /// `/debug/status`: a list of `{kind, namespace, name, status}` in upstream's status shape.
    pub fn status_json(&self) -> Value {
        let guard = match self.latest.read() {
            Ok(g) => g,
            Err(_) => return json!([]),
        };
        let Some(out) = guard.as_ref() else {
            return json!([]);
        };
        let list: Vec<Value> = out
            .status
            .proxies
            .iter()
            .map(|((ns, name), st)| {
                json!({"kind": "HTTPProxy", "namespace": ns, "name": name, "status": st.to_api()})
            })
            .collect();
        Value::Array(list)
    }
}
