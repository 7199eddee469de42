//! Collects the warnings a build logs about Ingresses (Ingress has no status conditions, so
//! the DAG only logs what it ignores), to show them next to each Ingress.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;

/// `(namespace, name)` → warnings, for events with `kind = "Ingress"`.
pub type IngressWarnings = BTreeMap<(String, String), Vec<String>>;

#[derive(Clone, Default)]
pub struct WarningCapture {
    seen: Arc<Mutex<IngressWarnings>>,
}

impl WarningCapture {
    pub fn take(&self) -> IngressWarnings {
        std::mem::take(&mut *self.seen.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The fields of one event, as text.
#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
}

impl<S: Subscriber> Layer<S> for WarningCapture {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if *event.metadata().level() > Level::WARN {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut f = fields.0;
        if f.get("kind").map(String::as_str) != Some("Ingress") {
            return;
        }
        let key = (
            f.remove("namespace").unwrap_or_default(),
            f.remove("name").unwrap_or_default(),
        );
        let mut text = f.remove("message").unwrap_or_default();
        for (k, v) in f.iter().filter(|(k, _)| k.as_str() != "kind") {
            text.push_str(&format!("; {k}: {v}"));
        }
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let list = seen.entry(key).or_default();
        if !list.contains(&text) {
            list.push(text);
        }
    }
}
