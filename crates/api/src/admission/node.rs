//! A schema compiled once for the walker: every keyword the walker reads is a field, so that
//! admitting an object costs one lookup per field of the object instead of a dozen keyword
//! lookups in the schema's JSON per value (the largest cost of admission at 10,000 objects).

use std::collections::{BTreeMap, HashMap};

use regex::Regex;
use serde_json::Value;

use crate::v1::schema::{CEL_RULES, CelRule};

/// One schema node (`openAPIV3Schema` or any schema below it).
#[derive(Default)]
pub(super) struct Node {
    /// `type`.
    pub type_: Option<String>,
    /// `enum`.
    pub enum_: Option<Vec<Value>>,
    /// `properties` (`None` when absent: then any field is accepted).
    pub properties: Option<HashMap<String, Node>>,
    /// `additionalProperties`, when it is a schema.
    pub additional: Option<Box<Node>>,
    /// `nullable`.
    pub nullable: bool,
    /// Properties with a `default`, in schema order.
    pub defaults: Vec<(String, Value)>,
    /// `required`, in schema order.
    pub required: Vec<String>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    /// `items`.
    pub items: Option<Box<Node>>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    /// `pattern` with its compiled form (absent when it did not compile).
    pub pattern: Option<(String, Regex)>,
    pub minimum: Option<f64>,
    pub exclusive_minimum: bool,
    pub maximum: Option<f64>,
    pub exclusive_maximum: bool,
    /// `x-kubernetes-validations` rules evaluated natively, with their messages.
    pub rules: Vec<(&'static CelRule, String)>,
}

impl Node {
    /// The schema of a field of an object of this schema.
    pub fn field(&self, key: &str) -> Option<&Node> {
        match &self.properties {
            Some(props) => props.get(key).or(self.additional.as_deref()),
            None => self.additional.as_deref(),
        }
    }
}

/// Compiles `schema`; `patterns` holds every pattern of the schema, compiled.
pub(super) fn compile(schema: &Value, patterns: &BTreeMap<String, Regex>) -> Node {
    let get = |k: &str| schema.get(k);
    let u64_of = |k: &str| get(k).and_then(Value::as_u64);
    let flag = |k: &str| get(k).and_then(Value::as_bool).unwrap_or(false);
    let props = get("properties").and_then(Value::as_object);
    let defaults = props
        .into_iter()
        .flatten()
        .filter_map(|(k, p)| Some((k.clone(), p.get("default")?.clone())))
        .collect();
    let pattern = get("pattern").and_then(Value::as_str).and_then(|p| {
        let re = patterns.get(p)?;
        Some((p.to_string(), re.clone()))
    });
    Node {
        type_: get("type").and_then(Value::as_str).map(str::to_string),
        enum_: get("enum").and_then(Value::as_array).cloned(),
        properties: props.map(|p| {
            p.iter()
                .map(|(k, v)| (k.clone(), compile(v, patterns)))
                .collect()
        }),
        additional: get("additionalProperties")
            .filter(|a| a.is_object())
            .map(|a| Box::new(compile(a, patterns))),
        nullable: flag("nullable"),
        defaults,
        required: get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|k| k.as_str().map(str::to_string))
            .collect(),
        min_items: u64_of("minItems"),
        max_items: u64_of("maxItems"),
        items: get("items").map(|i| Box::new(compile(i, patterns))),
        min_length: u64_of("minLength"),
        max_length: u64_of("maxLength"),
        pattern,
        minimum: get("minimum").and_then(Value::as_f64),
        exclusive_minimum: flag("exclusiveMinimum"),
        maximum: get("maximum").and_then(Value::as_f64),
        exclusive_maximum: flag("exclusiveMaximum"),
        rules: rules(schema),
    }
}

/// The rules of `x-kubernetes-validations` that have a native implementation; the others are
/// not evaluated.
fn rules(schema: &Value) -> Vec<(&'static CelRule, String)> {
    let listed = schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array);
    listed
        .into_iter()
        .flatten()
        .filter_map(|rule| {
            let text = rule.get("rule").and_then(Value::as_str).unwrap_or("");
            let known: &'static CelRule = CEL_RULES.iter().find(|r| r.rule == text).copied()?;
            let message = rule
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or(known.message);
            Some((known, message.to_string()))
        })
        .collect()
}
