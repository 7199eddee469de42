//! RTDS: the `dynamic` runtime layer with the keys Contour manages.

use std::collections::BTreeMap;

use envoy_types::pb::envoy::service::runtime::v3::Runtime;
use envoy_types::pb::google::protobuf::{Struct, Value, value};

use crate::names::DYNAMIC_RUNTIME_LAYER_NAME;
use crate::pb::det_map;

/// RE2 program size above which Envoy rejects a regex (upstream: 1 << 20).
pub const MAX_REGEX_PROGRAM_SIZE_ERROR: f64 = 1_048_576.0;
/// RE2 program size above which Envoy warns (upstream: 1000).
pub const MAX_REGEX_PROGRAM_SIZE_WARN: f64 = 1000.0;

/// The `dynamic` runtime resource with upstream's managed keys.
pub fn runtime() -> Runtime {
    runtime_with(&BTreeMap::new())
}

/// The `dynamic` runtime resource with user settings (contour.yaml `runtime-settings`) as
/// string values; managed keys win over user keys with the same name, as upstream.
pub fn runtime_with(user: &BTreeMap<String, String>) -> Runtime {
    runtime_layer(&BTreeMap::new(), user)
}

/// The `dynamic` runtime resource for a DAG: the regex limits, the `listener.*` settings that
/// Envoy only takes as runtime keys (`http.max_requests_per_io_cycle`, one
/// `envoy.resource_limits.listener.<name>.connection_limit` per DAG listener), then the user's
/// `runtime-settings` for every other key.
pub fn runtime_for(dag: &contour_dag::Dag, cfg: &crate::TranslateConfig) -> Runtime {
    let mut managed = BTreeMap::new();
    if let Some(n) = cfg.listener.max_requests_per_io_cycle {
        managed.insert("http.max_requests_per_io_cycle".to_string(), f64::from(n));
    }
    if let Some(n) = cfg.listener.max_connections_per_listener {
        for name in dag.listeners.keys() {
            let key = format!("envoy.resource_limits.listener.{name}.connection_limit");
            managed.insert(key, f64::from(n));
        }
    }
    runtime_layer(&managed, &cfg.runtime_settings)
}

fn runtime_layer(managed: &BTreeMap<String, f64>, user: &BTreeMap<String, String>) -> Runtime {
    let number = |n: f64| Value {
        kind: Some(value::Kind::NumberValue(n)),
    };
    let mut entries: BTreeMap<String, Value> = user
        .iter()
        .map(|(k, v)| {
            let value = Value {
                kind: Some(value::Kind::StringValue(v.clone())),
            };
            (k.clone(), value)
        })
        .collect();
    for (k, v) in managed {
        entries.insert(k.clone(), number(*v));
    }
    entries.insert(
        "re2.max_program_size.error_level".to_string(),
        number(MAX_REGEX_PROGRAM_SIZE_ERROR),
    );
    entries.insert(
        "re2.max_program_size.warn_level".to_string(),
        number(MAX_REGEX_PROGRAM_SIZE_WARN),
    );
    let fields = det_map(entries);
    Runtime {
        name: DYNAMIC_RUNTIME_LAYER_NAME.to_string(),
        layer: Some(Struct { fields }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_regex_keys() {
        let rt = runtime();
        assert_eq!(rt.name, "dynamic");
        let fields = rt.layer.expect("layer").fields;
        assert_eq!(fields.len(), 2);
        assert_eq!(
            fields["re2.max_program_size.error_level"].kind,
            Some(value::Kind::NumberValue(1_048_576.0))
        );
        assert_eq!(
            fields["re2.max_program_size.warn_level"].kind,
            Some(value::Kind::NumberValue(1000.0))
        );
    }

    #[test]
    fn listener_limits_become_managed_runtime_keys() {
        let mut dag = contour_dag::Dag::default();
        dag.listeners
            .insert("ingress_http".into(), contour_dag::Listener::default());
        let mut cfg = crate::TranslateConfig::default();
        cfg.listener.max_requests_per_io_cycle = Some(10);
        cfg.listener.max_connections_per_listener = Some(500);
        cfg.runtime_settings
            .insert("http.max_requests_per_io_cycle".into(), "99".into());
        let fields = runtime_for(&dag, &cfg).layer.expect("layer").fields;
        assert_eq!(
            fields["http.max_requests_per_io_cycle"].kind,
            Some(value::Kind::NumberValue(10.0))
        );
        assert_eq!(
            fields["envoy.resource_limits.listener.ingress_http.connection_limit"].kind,
            Some(value::Kind::NumberValue(500.0))
        );
    }

    #[test]
    fn user_settings_cannot_override_managed_keys() {
        let user = BTreeMap::from([
            (
                "re2.max_program_size.warn_level".to_string(),
                "5".to_string(),
            ),
            (
                "http.max_requests_per_io_cycle".to_string(),
                "10".to_string(),
            ),
        ]);
        let fields = runtime_with(&user).layer.expect("layer").fields;
        assert_eq!(fields.len(), 3);
        assert_eq!(
            fields["re2.max_program_size.warn_level"].kind,
            Some(value::Kind::NumberValue(1000.0))
        );
        assert_eq!(
            fields["http.max_requests_per_io_cycle"].kind,
            Some(value::Kind::StringValue("10".into()))
        );
    }
}
