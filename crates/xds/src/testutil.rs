//! Helpers shared by the unit tests.

use std::collections::BTreeMap;

use envoy_types::pb::google::protobuf::Any;

use crate::store::Snapshot;

/// An `Any` of `type_url` whose bytes are `payload`.
pub fn any(type_url: &str, payload: &str) -> Any {
    Any {
        type_url: type_url.to_string(),
        value: payload.as_bytes().to_vec(),
    }
}

/// `name → any(type_url, payload)` for each pair.
pub fn resources(type_url: &str, items: &[(&str, &str)]) -> BTreeMap<String, Any> {
    items
        .iter()
        .map(|(name, payload)| (name.to_string(), any(type_url, payload)))
        .collect()
}

/// A ready snapshot holding the given types.
pub fn snapshot(types: &[(&str, &[(&str, &str)])]) -> Snapshot {
    let types = types
        .iter()
        .map(|(t, items)| (t.to_string(), resources(t, items)))
        .collect();
    Snapshot::from_types(true, types)
}
