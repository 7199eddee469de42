//! The scale benchmark's reusable parts: the cluster generator and an in-memory loader (for the
//! criterion build benchmark).

pub mod generate;

use std::collections::BTreeSet;

use contour_dag::{Kind, Object, ObjectKey};
use serde::Deserialize;

/// Decodes generated YAML into objects, applying CRD defaults as the manifests source does.
pub fn objects(files: &[(String, String)]) -> anyhow::Result<Vec<Object>> {
    let mut out = Vec::new();
    for (path, yaml) in files {
        for doc in serde_norway::Deserializer::from_str(yaml) {
            let mut value =
                serde_json::Value::deserialize(doc).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
            if value.is_null() {
                continue;
            }
            let api = value["apiVersion"].as_str().unwrap_or_default().to_string();
            let kind_name = value["kind"].as_str().unwrap_or_default().to_string();
            let Some(kind) = Kind::from_type(&api, &kind_name) else {
                continue;
            };
            contour_api::admission::admit(&mut value)?;
            out.push(Object::from_json(kind, value)?);
        }
    }
    Ok(out)
}

/// A cache holding `objects` and an endpoint store with their EndpointSlices.
pub fn load(objects: Vec<Object>) -> (contour_dag::Cache, contour_dag::EndpointStore) {
    let mut cache = contour_dag::Cache::default();
    let mut endpoints = contour_dag::EndpointStore::default();
    for obj in objects {
        match obj {
            Object::EndpointSlice(s) => {
                endpoints.upsert(s);
            }
            other => {
                cache.insert(other);
            }
        }
    }
    (cache, endpoints)
}

/// Replaces the objects of the YAML `old` by those of `new` in the cache, as a source would on a
/// file change (EndpointSlices aside).
pub fn apply_yaml(cache: &mut contour_dag::Cache, old: &str, new: &str) -> anyhow::Result<()> {
    let parse = |yaml: &str| objects(&[("edit.yaml".to_string(), yaml.to_string())]);
    let next = parse(new)?;
    let keep: BTreeSet<ObjectKey> = next.iter().map(Object::key).collect();
    for gone in parse(old)?.iter().map(Object::key) {
        if !keep.contains(&gone) {
            cache.remove(&gone);
        }
    }
    for obj in next {
        if !matches!(obj, Object::EndpointSlice(_)) {
            cache.insert(obj);
        }
    }
    Ok(())
}
