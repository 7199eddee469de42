//! The schema walker behind [`super::admit`]: structural defaulting and OpenAPI validation over a
//! `serde_json::Value`, with Kubernetes API server wording in the messages.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::{Map, Value};

use super::FieldError;
use crate::v1::schema::CEL_RULES;

struct Walker<'a> {
    patterns: &'a BTreeMap<String, Regex>,
    errors: Vec<FieldError>,
}

/// Admits a whole object: drops `status` (ignored on create), then defaults and validates.
pub(super) fn admit_root(
    obj: &mut Value,
    schema: &Value,
    patterns: &BTreeMap<String, Regex>,
) -> Vec<FieldError> {
    let mut walker = Walker {
        patterns,
        errors: Vec::new(),
    };
    if let Some(map) = obj.as_object_mut() {
        map.remove("status");
        if obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            walker.error(
                "metadata.name",
                "Required value: name or generateName is required",
            );
        }
    }
    walker.walk(obj, schema, "");
    walker.errors
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A value as the API server prints it in messages: strings quoted, numbers bare.
fn show(value: &Value) -> String {
    match value {
        Value::Object(_) => "\"object\"".into(),
        Value::Array(_) => "\"array\"".into(),
        other => other.to_string(),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if is_integer(n) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_integer(n: &serde_json::Number) -> bool {
    n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
}

fn type_matches(want: &str, value: &Value) -> bool {
    match (want, value) {
        ("object", Value::Object(_)) | ("array", Value::Array(_)) => true,
        ("string", Value::String(_)) | ("boolean", Value::Bool(_)) => true,
        ("number", Value::Number(_)) => true,
        ("integer", Value::Number(n)) => is_integer(n),
        _ => false,
    }
}

/// Enum membership; numbers compare by value so `302` matches `302.0`.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

impl Walker<'_> {
    fn error(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            path: path.to_string(),
            message: message.into(),
        });
    }

    fn walk(&mut self, value: &mut Value, schema: &Value, path: &str) {
        if let Some(want) = schema.get("type").and_then(Value::as_str)
            && !type_matches(want, value)
        {
            let got = type_name(value);
            self.error(
                path,
                format!("Invalid value: \"{got}\": must be of type {want}"),
            );
            return;
        }
        self.check_enum(value, schema, path);
        match value {
            Value::Object(map) => self.walk_object(map, schema, path),
            Value::Array(items) => self.walk_array(items, schema, path),
            Value::String(s) => self.check_string(s, schema, path),
            Value::Number(n) => self.check_number(n, schema, path),
            _ => {}
        }
    }

    fn check_enum(&mut self, value: &Value, schema: &Value, path: &str) {
        let Some(allowed) = schema.get("enum").and_then(Value::as_array) else {
            return;
        };
        if allowed.iter().any(|a| same(a, value)) {
            return;
        }
        let list: Vec<String> = allowed
            .iter()
            .map(|a| match a {
                Value::String(s) => format!("{s:?}"),
                other => format!("\"{other}\""),
            })
            .collect();
        let msg = format!(
            "Unsupported value: {}: supported values: {}",
            show(value),
            list.join(", ")
        );
        self.error(path, msg);
    }

    fn walk_object(&mut self, map: &mut Map<String, Value>, schema: &Value, path: &str) {
        let props = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties").filter(|a| a.is_object());
        let nullable = |s: Option<&Value>| {
            s.and_then(|s| s.get("nullable"))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        // Pruning: nulls of non-nullable fields are dropped before defaulting.
        map.retain(|k, v| !v.is_null() || nullable(props.and_then(|p| p.get(k)).or(additional)));
        // Defaulting: absent fields with a schema default get it.
        for (key, prop) in props.into_iter().flatten() {
            if let (Some(default), false) = (prop.get("default"), map.contains_key(key)) {
                map.insert(key.clone(), default.clone());
            }
        }
        for key in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(key) = key.as_str().filter(|k| !map.contains_key(*k)) {
                self.error(&child(path, key), "Required value");
            }
        }
        for (key, item) in map.iter_mut() {
            let item_path = child(path, key);
            match (props.and_then(|p| p.get(key)), additional) {
                (Some(prop), _) | (None, Some(prop)) => self.walk(item, prop, &item_path),
                // An object schema without `properties` (such as `metadata`) accepts anything.
                (None, None) if props.is_some() => {
                    self.error(&item_path, "field not declared in schema")
                }
                (None, None) => {}
            }
        }
        self.check_rules(map, schema, path);
    }

    fn check_rules(&mut self, map: &Map<String, Value>, schema: &Value, path: &str) {
        let rules = schema
            .get("x-kubernetes-validations")
            .and_then(Value::as_array);
        for rule in rules.into_iter().flatten() {
            let text = rule.get("rule").and_then(Value::as_str).unwrap_or("");
            // Rules without a native implementation are not evaluated.
            let Some(known) = CEL_RULES.iter().find(|r| r.rule == text) else {
                continue;
            };
            if !(known.check)(map) {
                let message = rule
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or(known.message);
                self.error(path, format!("Invalid value: \"object\": {message}"));
            }
        }
    }

    fn walk_array(&mut self, items: &mut [Value], schema: &Value, path: &str) {
        let len = items.len() as u64;
        if let Some(min) = schema
            .get("minItems")
            .and_then(Value::as_u64)
            .filter(|m| len < *m)
        {
            self.error(
                path,
                format!("Invalid value: {len}: should have at least {min} items"),
            );
        }
        if let Some(max) = schema
            .get("maxItems")
            .and_then(Value::as_u64)
            .filter(|m| len > *m)
        {
            self.error(
                path,
                format!("Too many: {len}: must have at most {max} items"),
            );
        }
        let Some(item_schema) = schema.get("items") else {
            return;
        };
        for (i, item) in items.iter_mut().enumerate() {
            self.walk(item, item_schema, &format!("{path}[{i}]"));
        }
    }

    fn check_string(&mut self, s: &str, schema: &Value, path: &str) {
        let chars = s.chars().count() as u64;
        let shown = format!("{s:?}");
        if let Some(min) = schema
            .get("minLength")
            .and_then(Value::as_u64)
            .filter(|m| chars < *m)
        {
            self.error(
                path,
                format!("Invalid value: {shown}: should be at least {min} chars long"),
            );
        }
        if let Some(max) = schema
            .get("maxLength")
            .and_then(Value::as_u64)
            .filter(|m| chars > *m)
        {
            self.error(path, format!("Too long: may not be more than {max} bytes"));
        }
        if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
            && self.patterns.get(pattern).is_some_and(|re| !re.is_match(s))
        {
            self.error(
                path,
                format!("Invalid value: {shown}: should match '{pattern}'"),
            );
        }
    }

    fn check_number(&mut self, n: &serde_json::Number, schema: &Value, path: &str) {
        let Some(v) = n.as_f64() else { return };
        let flag = |k: &str| schema.get(k).and_then(Value::as_bool).unwrap_or(false);
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
            if flag("exclusiveMinimum") && v <= min {
                self.error(
                    path,
                    format!("Invalid value: {n}: should be greater than {min}"),
                );
            } else if v < min {
                let msg = format!("Invalid value: {n}: should be greater than or equal to {min}");
                self.error(path, msg);
            }
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
            if flag("exclusiveMaximum") && v >= max {
                self.error(
                    path,
                    format!("Invalid value: {n}: should be less than {max}"),
                );
            } else if v > max {
                self.error(
                    path,
                    format!("Invalid value: {n}: should be less than or equal to {max}"),
                );
            }
        }
    }
}
