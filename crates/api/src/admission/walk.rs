//! The schema walker behind [`super::admit`]: structural defaulting and OpenAPI validation over a
//! `serde_json::Value`, with Kubernetes API server wording in the messages.

use serde_json::{Map, Value};

use super::FieldError;
use super::node::Node;

struct Walker {
    errors: Vec<FieldError>,
}

/// Admits a whole object: drops `status` (ignored on create), then defaults and validates.
pub(super) fn admit_root(obj: &mut Value, schema: &Node) -> Vec<FieldError> {
    let mut walker = Walker { errors: Vec::new() };
    if let Some(map) = obj.as_object_mut() {
        map.remove("status");
        if obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            let meta = Path::Key(&Path::Root, "metadata");
            walker.error(
                &Path::Key(&meta, "name"),
                "Required value: name or generateName is required",
            );
        }
    }
    walker.walk(obj, schema, &Path::Root);
    walker.errors
}

/// Where a value sits in the object, rendered (`spec.routes[0].services`) only when an error is
/// reported: building the path of every field cost more than the checks themselves.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn render(&self) -> String {
        match self {
            Path::Root => String::new(),
            Path::Key(parent, key) => match parent.render() {
                p if p.is_empty() => key.to_string(),
                p => format!("{p}.{key}"),
            },
            Path::Index(parent, i) => format!("{}[{i}]", parent.render()),
        }
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

impl Walker {
    fn error(&mut self, path: &Path, message: impl Into<String>) {
        self.errors.push(FieldError {
            path: path.render(),
            message: message.into(),
        });
    }

    fn walk(&mut self, value: &mut Value, schema: &Node, path: &Path) {
        if let Some(want) = schema.type_.as_deref()
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

    fn check_enum(&mut self, value: &Value, schema: &Node, path: &Path) {
        let Some(allowed) = &schema.enum_ else {
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

    fn walk_object(&mut self, map: &mut Map<String, Value>, schema: &Node, path: &Path) {
        // Pruning: nulls of non-nullable fields are dropped before defaulting.
        map.retain(|k, v| !v.is_null() || schema.field(k).is_some_and(|f| f.nullable));
        // Defaulting: absent fields with a schema default get it.
        for (key, default) in &schema.defaults {
            if !map.contains_key(key) {
                map.insert(key.clone(), default.clone());
            }
        }
        for key in &schema.required {
            if !map.contains_key(key) {
                self.error(&Path::Key(path, key), "Required value");
            }
        }
        for (key, item) in map.iter_mut() {
            let item_path = Path::Key(path, key);
            match schema.field(key) {
                Some(prop) => self.walk(item, prop, &item_path),
                // An object schema without `properties` (such as `metadata`) accepts anything.
                None if schema.properties.is_some() => {
                    self.error(&item_path, "field not declared in schema")
                }
                None => {}
            }
        }
        self.check_rules(map, schema, path);
    }

    fn check_rules(&mut self, map: &Map<String, Value>, schema: &Node, path: &Path) {
        for (rule, message) in &schema.rules {
            if !(rule.check)(map) {
                self.error(path, format!("Invalid value: \"object\": {message}"));
            }
        }
    }

    fn walk_array(&mut self, items: &mut [Value], schema: &Node, path: &Path) {
        let len = items.len() as u64;
        if let Some(min) = schema.min_items.filter(|m| len < *m) {
            self.error(
                path,
                format!("Invalid value: {len}: should have at least {min} items"),
            );
        }
        if let Some(max) = schema.max_items.filter(|m| len > *m) {
            self.error(
                path,
                format!("Too many: {len}: must have at most {max} items"),
            );
        }
        let Some(item_schema) = &schema.items else {
            return;
        };
        for (i, item) in items.iter_mut().enumerate() {
            self.walk(item, item_schema, &Path::Index(path, i));
        }
    }

    fn check_string(&mut self, s: &str, schema: &Node, path: &Path) {
        if schema.min_length.is_none() && schema.max_length.is_none() && schema.pattern.is_none() {
            return;
        }
        let chars = s.chars().count() as u64;
        // Formatted only for a message: most strings are valid.
        let shown = || format!("{s:?}");
        if let Some(min) = schema.min_length.filter(|m| chars < *m) {
            self.error(
                path,
                format!(
                    "Invalid value: {}: should be at least {min} chars long",
                    shown()
                ),
            );
        }
        if let Some(max) = schema.max_length.filter(|m| chars > *m) {
            self.error(path, format!("Too long: may not be more than {max} bytes"));
        }
        if let Some((pattern, re)) = &schema.pattern
            && !re.is_match(s)
        {
            self.error(
                path,
                format!("Invalid value: {}: should match '{pattern}'", shown()),
            );
        }
    }

    fn check_number(&mut self, n: &serde_json::Number, schema: &Node, path: &Path) {
        let Some(v) = n.as_f64() else { return };
        if let Some(min) = schema.minimum {
            if schema.exclusive_minimum && v <= min {
                self.error(
                    path,
                    format!("Invalid value: {n}: should be greater than {min}"),
                );
            } else if v < min {
                let msg = format!("Invalid value: {n}: should be greater than or equal to {min}");
                self.error(path, msg);
            }
        }
        if let Some(max) = schema.maximum {
            if schema.exclusive_maximum && v >= max {
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
