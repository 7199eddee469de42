//! From the bytes of one manifest file to the objects it defines: documents, `List` expansion,
//! required fields, namespace defaulting, CRD admission and typed decoding.

use std::collections::BTreeSet;
use std::path::Path;

use contour_dag::{Kind, Object, ObjectKey};
use serde_json::{Map, Value};
use tracing::{debug, warn};

use super::admission::admit;
use super::direct::{Doc, LAST_APPLIED};
use super::documents::{json_documents, line_of_offset, yaml_documents};

/// What one file defines.
#[derive(Debug, Default)]
pub(super) struct ParsedFile {
    /// Accepted objects, in document order.
    pub objects: Vec<Object>,
    /// The digest of each object, when computed with the parse (on the reading threads);
    /// empty otherwise.
    pub digests: Vec<super::store::Digest>,
    /// Objects whose new definition was rejected (their last good version is kept).
    pub rejected: BTreeSet<ObjectKey>,
    /// Part of the file could not be read at all: no object may be deleted because of it.
    pub unreadable: bool,
    pub problems: Vec<Problem>,
}

/// A document (or `List` item) that was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Problem {
    /// 1-based document index in the file.
    pub document: usize,
    /// 1-based item index when the document is a `List`.
    pub item: Option<usize>,
    /// 1-based line: where the parser located a syntax error, else where the document starts.
    pub line: usize,
    pub key: Option<ObjectKey>,
    pub reason: String,
}

/// Outcome of decoding one object.
#[allow(clippy::large_enum_variant, reason = "short-lived, moved once")]
enum Decoded {
    Object(Object),
    Rejected {
        key: Option<ObjectKey>,
        reason: String,
    },
    Ignored {
        api_version: String,
        kind: String,
    },
}

/// Whether a path names a manifest file by its extension.
pub(super) fn is_manifest_path(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        ["yaml", "yml", "json"]
            .iter()
            .any(|x| e.eq_ignore_ascii_case(x))
    })
}

/// Parses a manifest file and logs every document that is skipped.
pub(super) fn parse_file(path: &Path, bytes: &[u8]) -> ParsedFile {
    let mut parsed = ParsedFile::default();
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            let line = line_of_offset(&String::from_utf8_lossy(bytes), err.valid_up_to());
            parsed.unreadable = true;
            parsed.problem(
                path,
                1,
                None,
                line,
                None,
                format!("file is not UTF-8: {err}"),
            );
            return parsed;
        }
    };
    // A byte order mark is allowed at the start of a file.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let documents = if json {
        json_documents(text)
    } else {
        yaml_documents(text)
    };
    for doc in documents {
        let value = match doc.value {
            Ok(Doc::Object(object)) => {
                parsed.objects.push(object);
                continue;
            }
            Ok(Doc::Value(value)) => value,
            Err(err) => {
                parsed.unreadable = true;
                parsed.problem(path, doc.index, None, err.line, None, err.message);
                continue;
            }
        };
        for (item, decoded) in decode_document(value) {
            match decoded {
                Decoded::Object(object) => parsed.objects.push(object),
                Decoded::Rejected { key, reason } => {
                    // Without a key, any object of the file may be the one that broke.
                    match &key {
                        Some(key) => _ = parsed.rejected.insert(key.clone()),
                        None => parsed.unreadable = true,
                    }
                    parsed.problem(path, doc.index, item, doc.line, key, reason);
                }
                Decoded::Ignored { api_version, kind } => debug!(
                    file = %path.display(), document = doc.index, item, api_version, kind,
                    "ignoring manifest of a kind Contour does not read"
                ),
            }
        }
    }
    parsed
}

impl ParsedFile {
    fn problem(
        &mut self,
        path: &Path,
        document: usize,
        item: Option<usize>,
        line: usize,
        key: Option<ObjectKey>,
        reason: String,
    ) {
        let object = key.as_ref().map(tracing::field::display);
        warn!(
            file = %path.display(), document, item, line, object, error = %reason,
            "skipping invalid manifest"
        );
        self.problems.push(Problem {
            document,
            item,
            line,
            key,
            reason,
        });
    }
}

/// One document: a single object, or the items of a `List`.
fn decode_document(value: Value) -> Vec<(Option<usize>, Decoded)> {
    let Value::Object(map) = value else {
        return match value {
            Value::Null => Vec::new(),
            _ => vec![(None, rejected(None, "document is not a mapping".into()))],
        };
    };
    let list_kind = map
        .get("kind")
        .and_then(Value::as_str)
        .filter(|k| k.ends_with("List"));
    match (list_kind, map.get("items")) {
        (Some(list_kind), Some(items)) => {
            let Value::Array(items) = items else {
                return vec![(
                    None,
                    rejected(None, format!("{list_kind}: items is not a list")),
                )];
            };
            let item_kind = list_kind.strip_suffix("List").filter(|k| !k.is_empty());
            let api_version = map.get("apiVersion");
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let item = fill_list_item(item.clone(), item_kind, api_version);
                    (Some(i + 1), decode_object(item))
                })
                .collect()
        }
        _ => vec![(None, decode_object(Value::Object(map)))],
    }
}

/// The general road for one document's text (YAML → `Value` → decoding), for tests that
/// compare it with the fast one: each object, or its rejection's reason.
#[cfg(test)]
pub(super) fn general_road(text: &str) -> Vec<Result<Object, String>> {
    let value: Value = match serde_norway::from_str(text) {
        Ok(value) => value,
        Err(err) => return vec![Err(err.to_string())],
    };
    decode_document(value)
        .into_iter()
        .filter_map(|(_, decoded)| match decoded {
            Decoded::Object(object) => Some(Ok(object)),
            Decoded::Rejected { reason, .. } => Some(Err(reason)),
            Decoded::Ignored { .. } => None,
        })
        .collect()
}

/// Items of a typed list (`ServiceList`) may omit their `kind` and `apiVersion`.
fn fill_list_item(mut item: Value, kind: Option<&str>, api_version: Option<&Value>) -> Value {
    if let (Value::Object(map), Some(kind)) = (&mut item, kind)
        && !map.contains_key("kind")
    {
        map.insert("kind".into(), Value::String(kind.into()));
        if let Some(api_version) = api_version {
            map.entry("apiVersion")
                .or_insert_with(|| api_version.clone());
        }
    }
    item
}

fn rejected(key: Option<ObjectKey>, reason: String) -> Decoded {
    Decoded::Rejected { key, reason }
}

fn decode_object(mut value: Value) -> Decoded {
    let Value::Object(map) = &mut value else {
        return rejected(None, "object is not a mapping".into());
    };
    let (Some(api_version), Some(kind_name)) =
        (str_field(map, "apiVersion"), str_field(map, "kind"))
    else {
        return rejected(
            None,
            "object needs string fields apiVersion and kind".into(),
        );
    };
    let Some(kind) = Kind::from_type(&api_version, &kind_name) else {
        return Decoded::Ignored {
            api_version,
            kind: kind_name,
        };
    };
    let key = match identify(kind, map) {
        Ok(key) => key,
        Err(reason) => return rejected(None, format!("{kind}: {reason}")),
    };
    drop_unread_fields(map);
    if let Err(reason) = admit(kind, &mut value) {
        return rejected(Some(key), reason);
    }
    match Object::from_json(kind, value) {
        Ok(object) if object.key() == key => Decoded::Object(object),
        Ok(object) => rejected(Some(key), format!("decoded as {}", object.key())),
        Err(err) => rejected(Some(key.clone()), format!("{key}: {err}")),
    }
}

/// Fields no part of Contour reads, dropped before decoding so they are never held: the status
/// (Contour writes statuses, it does not read them), managed fields, and `kubectl apply`'s copy
/// of the whole object.
fn drop_unread_fields(map: &mut Map<String, Value>) {
    map.remove("status");
    if let Some(Value::Object(meta)) = map.get_mut("metadata") {
        meta.remove("managedFields");
        if let Some(Value::Object(annotations)) = meta.get_mut("annotations") {
            annotations.remove(LAST_APPLIED);
        }
    }
}

fn str_field(map: &Map<String, Value>, field: &str) -> Option<String> {
    map.get(field).and_then(Value::as_str).map(str::to_owned)
}

/// Reads the object's name and namespace, defaulting the namespace as `kubectl apply` would:
/// `default` for namespaced kinds, none for cluster-scoped kinds.
fn identify(kind: Kind, map: &mut Map<String, Value>) -> Result<ObjectKey, String> {
    let Some(Value::Object(meta)) = map.get_mut("metadata") else {
        return Err("missing metadata".into());
    };
    let name = match meta.get("name") {
        Some(Value::String(name)) if !name.is_empty() => name.clone(),
        _ => return Err("missing metadata.name".into()),
    };
    let namespace = if kind.is_namespaced() {
        match meta.get("namespace") {
            Some(Value::String(ns)) if !ns.is_empty() => ns.clone(),
            None | Some(Value::Null) | Some(Value::String(_)) => {
                meta.insert("namespace".into(), Value::String("default".into()));
                "default".to_owned()
            }
            Some(_) => return Err("metadata.namespace is not a string".into()),
        }
    } else {
        meta.remove("namespace");
        String::new()
    };
    Ok(ObjectKey {
        kind,
        namespace,
        name,
    })
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
