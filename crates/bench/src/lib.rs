//! The scale benchmark's reusable parts: the cluster generator and an in-memory loader (for the
//! criterion build benchmark).

pub mod generate;

use contour_dag::{Kind, Object};
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
