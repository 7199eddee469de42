//! Admission: what the Kubernetes API server does to a custom resource before storing it, for
//! objects that reach Contour without one (the manifests directory).
//!
//! The behaviour comes from the generated CRD schemas (see [`crate::crds`]), so the Rust types
//! are the single source for both the CRD YAML and this check:
//! 1. `status` is dropped (the status subresource ignores it on create);
//! 2. `null` values of non-nullable fields are pruned;
//! 3. schema defaults are applied where a field is absent inside a present object;
//! 4. the object is validated: type, enum, pattern, required, minimum/maximum (incl.
//!    exclusiveMaximum), minLength/maxLength, minItems/maxItems, unknown fields, and upstream's
//!    `x-kubernetes-validations` rules (evaluated natively, see `v1::schema::CEL_RULES`).
//!
//! Objects of other kinds are left untouched.

mod node;
mod walk;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

use crate::crds;

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path from the object root, e.g. `spec.routes[0].services[1].port`.
    pub path: String,
    /// What is wrong, in the API server's wording, e.g. `Required value`.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every field error of one object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct AdmissionError {
    /// Kind of the rejected object.
    pub kind: String,
    /// Its namespace ("" when absent).
    pub namespace: String,
    /// Its name ("" when absent).
    pub name: String,
    /// The field errors, in document order.
    pub errors: Vec<FieldError>,
}

impl fmt::Display for AdmissionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}: ", self.kind, self.name)?;
        } else {
            write!(f, "{} {}/{}: ", self.kind, self.namespace, self.name)?;
        }
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// The schemas admission checks against, computed once.
pub(crate) struct Schemas {
    /// `(apiVersion, kind)` → `openAPIV3Schema`.
    by_type: BTreeMap<(String, String), Value>,
    /// Every `pattern` in those schemas, compiled (kept for the tests that count them).
    #[cfg(test)]
    patterns: BTreeMap<String, Regex>,
    /// The same schemas, compiled for the walker.
    compiled: BTreeMap<(String, String), node::Node>,
}

fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let mut by_type = BTreeMap::new();
        let mut patterns = BTreeMap::new();
        for crd in crds() {
            for version in &crd.spec.versions {
                let Some(props) = version
                    .schema
                    .as_ref()
                    .and_then(|s| s.open_api_v3_schema.as_ref())
                else {
                    continue;
                };
                let schema = serde_json::to_value(props).unwrap_or(Value::Null);
                collect_patterns(&schema, &mut patterns);
                let api_version = format!("{}/{}", crd.spec.group, version.name);
                by_type.insert((api_version, crd.spec.names.kind.clone()), schema);
            }
        }
        let compiled = by_type
            .iter()
            .map(|(k, schema)| (k.clone(), node::compile(schema, &patterns)))
            .collect();
        Schemas {
            by_type,
            #[cfg(test)]
            patterns,
            compiled,
        }
    })
}

fn collect_patterns(schema: &Value, out: &mut BTreeMap<String, Regex>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::String(p)) = map.get("pattern") {
                // Every pattern is pinned by a test to compile; one that did not would be skipped.
                if let Ok(re) = Regex::new(&go_to_rust_regex(p)) {
                    out.insert(p.clone(), re);
                }
            }
            map.values().for_each(|v| collect_patterns(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_patterns(v, out)),
        _ => {}
    }
}

/// Schema patterns use Go's RE2 syntax, as the API server does. The `regex` crate reads a few
/// things differently inside a character class: `[` opens a nested class and `&&`/`~~` are set
/// operators. Escaping `[`, `&` and `~` inside classes gives the RE2 meaning.
pub(crate) fn go_to_rust_regex(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // A leading `^` and a leading `]` belong to the class syntax.
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().unwrap_or('^'));
                }
                if chars.peek() == Some(&']') {
                    chars.next();
                    out.push_str("\\]");
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '[' | '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Whether admission knows the schema of `(apiVersion, kind)`.
pub fn has_schema(api_version: &str, kind: &str) -> bool {
    schemas()
        .by_type
        .contains_key(&(api_version.to_string(), kind.to_string()))
}

/// Defaults and validates `obj` in place as the API server would on create.
///
/// Objects whose `apiVersion`/`kind` is not one of Contour's CRDs are returned untouched.
pub fn admit(obj: &mut Value) -> Result<(), AdmissionError> {
    let str_at = |v: &Value, p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let key = (str_at(obj, "/apiVersion"), str_at(obj, "/kind"));
    let all = schemas();
    let Some(schema) = all.compiled.get(&key) else {
        return Ok(());
    };
    let errors = walk::admit_root(obj, schema);
    if errors.is_empty() {
        return Ok(());
    }
    Err(AdmissionError {
        kind: key.1,
        namespace: str_at(obj, "/metadata/namespace"),
        name: str_at(obj, "/metadata/name"),
        errors,
    })
}
