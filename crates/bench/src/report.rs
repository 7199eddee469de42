//! The benchmark's output: one table (or one JSON object) with each target beside its figure.

use std::time::Duration;

use serde_json::{Map, Value, json};

/// Percentile of a list of milliseconds (nearest rank).
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A target: the figure's key, a description, and the bound it must stay under.
pub struct Target {
    pub key: &'static str,
    pub what: String,
    pub bound: f64,
}

/// Figures in insertion order plus the targets checked against them.
#[derive(Default)]
pub struct Report {
    pub figures: Map<String, Value>,
    pub notes: Vec<String>,
    pub targets: Vec<Target>,
}

impl Report {
    pub fn set(&mut self, key: &str, value: impl Into<Value>) {
        self.figures.insert(key.to_string(), value.into());
    }

    pub fn target(&mut self, key: &'static str, what: impl Into<String>, bound: f64) {
        self.targets.push(Target {
            key,
            what: what.into(),
            bound,
        });
    }

    /// A figure as a number, when measured.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.figures.get(key).and_then(Value::as_f64)
    }

    fn verdict(&self, t: &Target) -> (Option<f64>, &'static str) {
        match self.get(t.key) {
            Some(v) if v <= t.bound => (Some(v), "met"),
            Some(v) => (Some(v), "NOT MET"),
            None => (None, "not measured"),
        }
    }

    pub fn json(&self) -> Value {
        let mut out = self.figures.clone();
        let targets: Vec<Value> = self
            .targets
            .iter()
            .map(|t| {
                let (v, verdict) = self.verdict(t);
                json!({"key": t.key, "target": t.what, "bound": t.bound, "measured": v, "verdict": verdict})
            })
            .collect();
        out.insert("targets".into(), targets.into());
        out.insert("notes".into(), self.notes.clone().into());
        Value::Object(out)
    }

    pub fn table(&self) -> String {
        let mut s = String::from("figure                                   value\n");
        for (k, v) in &self.figures {
            let shown = match v {
                Value::Number(n) => n
                    .as_f64()
                    .map(|f| format!("{f:.1}"))
                    .unwrap_or_else(|| n.to_string()),
                other => other.to_string(),
            };
            s.push_str(&format!("{k:<40} {shown}\n"));
        }
        s.push_str("\ntarget                                                         measured    verdict\n");
        for t in &self.targets {
            let (v, verdict) = self.verdict(t);
            let shown = v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into());
            s.push_str(&format!("{:<62} {shown:>9}    {verdict}\n", t.what));
        }
        for n in &self.notes {
            s.push_str(&format!("note: {n}\n"));
        }
        s
    }
}

/// When Envoy's own push → ACK p50 for the route pushes is above the route p50 bound, says so and
/// how much of the route p50 is left for the control plane.
pub fn floor_note(r: &Report, route_p50_bound: f64) -> Option<String> {
    let floor = r.get("envoy_floor_p50_ms")?;
    let route = r.get("route_p50_ms")?;
    (floor > route_p50_bound).then(|| {
        format!(
            "Envoy's own push -> ACK p50 for these route changes is {floor:.0} ms, above the route \
             p50 bound ({route_p50_bound:.0} ms) before any control-plane time; the rest of the \
             route p50 (the file read, the build, the push, Envoy's workers) is {:.0} ms",
            route - floor
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[3.0], 99.0), 3.0);
    }

    #[test]
    fn a_floor_above_the_bound_is_said() {
        let mut r = Report::default();
        r.set("route_p50_ms", 300.0);
        r.set("envoy_floor_p50_ms", 220.0);
        let note = floor_note(&r, 150.0).expect("the floor is above the bound");
        assert!(note.contains("220 ms") && note.contains("80 ms"), "{note}");
        r.set("envoy_floor_p50_ms", 100.0);
        assert_eq!(floor_note(&r, 150.0), None);
        assert_eq!(floor_note(&Report::default(), 150.0), None);
    }

    #[test]
    fn verdicts() {
        let mut r = Report::default();
        r.set("a", 1.0);
        r.set("b", 5.0);
        r.target("a", "a under 2", 2.0);
        r.target("b", "b under 2", 2.0);
        r.target("c", "c under 2", 2.0);
        let j = r.json();
        let v: Vec<&str> = j["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["verdict"].as_str().unwrap())
            .collect();
        assert_eq!(v, ["met", "NOT MET", "not measured"]);
    }
}
