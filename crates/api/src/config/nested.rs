//! Unknown keys inside the v1 types contour.yaml reuses (`rateLimitService.
//! defaultGlobalRateLimitPolicy`, `globalExtAuth.httpSettings`): those types are CRD types and
//! accept unknown fields (the API server prunes them), so the file's strictness is enforced here
//! by walking the written YAML against the types' JSON schemas.

use schemars::JsonSchema;
use serde_json::Value;

use crate::v1::{GlobalRateLimitPolicy, HTTPAuthorizationServerSettings};

fn schema_of<T: JsonSchema>() -> Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default()
}

/// The dotted path (with `[i]` for list items) of the first unknown key, if any.
pub(super) fn unknown_key(text: &str) -> Option<String> {
    let raw: Value = serde_norway::from_str(text).ok()?;
    let reused = [
        (
            "rateLimitService",
            "defaultGlobalRateLimitPolicy",
            schema_of::<GlobalRateLimitPolicy>(),
        ),
        (
            "globalExtAuth",
            "httpSettings",
            schema_of::<HTTPAuthorizationServerSettings>(),
        ),
    ];
    reused.iter().find_map(|(section, key, root)| {
        let v = raw.get(section)?.get(key)?;
        walk(v, root, root, &format!("{section}.{key}"))
    })
}

/// Follows `$ref` and picks the object/array branch of `anyOf`/`oneOf`/`allOf` (`Option<T>`).
fn resolve<'a>(s: &'a Value, root: &'a Value) -> &'a Value {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or_default();
        return match root.get("$defs").and_then(|d| d.get(name)) {
            Some(def) => resolve(def, root),
            None => s,
        };
    }
    for combinator in ["anyOf", "oneOf", "allOf"] {
        let branches = s.get(combinator).and_then(Value::as_array);
        if let Some(found) = branches
            .into_iter()
            .flatten()
            .map(|b| resolve(b, root))
            .find(|b| b.get("properties").is_some() || b.get("items").is_some())
        {
            return found;
        }
    }
    s
}

fn walk(v: &Value, schema: &Value, root: &Value, path: &str) -> Option<String> {
    let s = resolve(schema, root);
    match v {
        Value::Object(map) => {
            let props = s.get("properties").and_then(Value::as_object);
            let extra = s.get("additionalProperties").filter(|a| a.is_object());
            map.iter().find_map(|(k, child)| {
                let child_path = format!("{path}.{k}");
                match (props.and_then(|p| p.get(k)), extra) {
                    (Some(cs), _) | (None, Some(cs)) => walk(child, cs, root, &child_path),
                    (None, None) if props.is_some() => Some(child_path),
                    // A free-form value (no properties declared): nothing to check.
                    (None, None) => None,
                }
            })
        }
        Value::Array(items) => {
            let item_schema = s.get("items")?;
            items
                .iter()
                .enumerate()
                .find_map(|(i, c)| walk(c, item_schema, root, &format!("{path}[{i}]")))
        }
        _ => None,
    }
}
