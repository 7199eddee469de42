//! Test fixtures: objects from YAML.

use crate::object::{Kind, Object};

/// Parses one YAML object (kind taken from its apiVersion/kind; namespace defaults to `default`).
pub fn obj(yaml: &str) -> Object {
    let mut v: serde_json::Value = serde_norway::from_str(yaml).expect("fixture yaml");
    let api = v["apiVersion"].as_str().unwrap().to_string();
    let kind = Kind::from_type(&api, v["kind"].as_str().unwrap()).expect("known kind");
    if kind.is_namespaced() && v["metadata"]["namespace"].is_null() {
        v["metadata"]["namespace"] = "default".into();
    }
    Object::from_json(kind, v).expect("fixture decodes")
}

pub fn service(ns: &str, name: &str, port: u16, port_name: &str) -> Object {
    obj(&format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: {ns}}}\n\
         spec:\n  ports:\n  - {{name: '{port_name}', port: {port}, protocol: TCP}}\n"
    ))
}

pub fn cache_with(objs: impl IntoIterator<Item = Object>) -> crate::Cache {
    let mut cache = crate::Cache::default();
    for o in objs {
        cache.insert(o);
    }
    cache
}
