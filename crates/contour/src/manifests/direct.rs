//! Decoding a YAML document of a built-in kind (Namespace, Service, EndpointSlice, Secret,
//! Ingress) straight into its Kubernetes type, without building a `serde_json::Value` first.
//!
//! This is only a faster road to the same result as the general one (YAML → `Value` → typed
//! decoding, see `decode.rs`): the typed decoder is given exactly what it would get from the
//! `Value` (a plain `80` is a number, never a string; maps, sequences and nulls as JSON has them;
//! see [`Strict`]), the same fields are dropped and the namespace is defaulted the same way.
//! Whenever this road cannot decide or fails (a syntax error, a wrong field type, a missing
//! name, a `List`, a CRD kind, an enum or tag it does not handle), the caller takes the general
//! road, which gives the same objects and the same error messages as before.
//! CRD kinds still need the `Value` (admission walks it): for them this returns the `Value`,
//! built from the same parser calls as the general road.

use contour_dag::{Kind, Object};
use k8s_openapi::api::core::v1::{Namespace, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::value::{MapAccessDeserializer, StringDeserializer};
use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::{Map, Value};

/// A document read on the fast road.
#[allow(clippy::large_enum_variant, reason = "short-lived, moved once")]
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Doc {
    /// A built-in object, ready to serve (fields dropped and namespace defaulted).
    Object(Object),
    /// Anything else, for the general road.
    Value(Value),
}

/// The annotation `kubectl apply` keeps a copy of the whole object in.
pub(super) const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Parses one YAML document (a chunk holding one document); `None` when the general road must
/// read it.
pub(super) fn parse(text: &str) -> Option<Doc> {
    parse_from(serde_norway::Deserializer::from_str(text))
}

/// The same from any self-describing deserializer of the document (the fast reader's).
pub(super) fn parse_from<'de, D: Deserializer<'de>>(document: D) -> Option<Doc> {
    document.deserialize_map(Root).ok()
}

/// The top-level mapping: entries are read as `Value`s until `apiVersion` and `kind` name a
/// built-in kind, then the rest goes straight into the type.
struct Root;

impl<'de> Visitor<'de> for Root {
    type Value = Doc;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a Kubernetes object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Doc, A::Error> {
        let mut seen: Vec<(String, Value)> = Vec::new();
        let mut decided = false;
        while let Some(key) = map.next_key::<String>()? {
            let value: Value = map.next_value()?;
            let names_type = key == "apiVersion" || key == "kind";
            seen.push((key, value));
            if names_type && !decided {
                match type_of(&seen) {
                    Some(Some(kind)) => return typed(kind, seen, map).map(Doc::Object),
                    Some(None) => decided = true,
                    None => {}
                }
            }
        }
        if seen.is_empty() {
            // An empty document reads as an empty mapping here, as null on the general road.
            return Err(de::Error::custom("empty mapping"));
        }
        // Duplicate keys: the last value wins, at the first one's place, as in `Value`.
        Ok(Doc::Value(Value::Object(
            seen.into_iter().collect::<Map<_, _>>(),
        )))
    }
}

/// `None` until both `apiVersion` and `kind` are known; then the built-in kind they name, if any.
fn type_of(seen: &[(String, Value)]) -> Option<Option<Kind>> {
    let last = |name: &str| seen.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v);
    let (api_version, kind) = (last("apiVersion")?, last("kind")?);
    let (Some(api_version), Some(kind)) = (api_version.as_str(), kind.as_str()) else {
        return Some(None);
    };
    Some(Kind::from_type(api_version, kind).filter(|k| is_builtin(*k)))
}

fn is_builtin(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Namespace | Kind::Service | Kind::EndpointSlice | Kind::Secret | Kind::Ingress
    )
}

/// Decodes the whole object: the entries already read, then the rest of the mapping.
fn typed<'de, A: MapAccess<'de>>(
    kind: Kind,
    seen: Vec<(String, Value)>,
    map: A,
) -> Result<Object, A::Error> {
    let rest = Rest {
        seen: seen.into_iter(),
        next: None,
        map,
    };
    let de = MapAccessDeserializer::new(rest);
    let mut object = match kind {
        Kind::Namespace => Object::Namespace(Namespace::deserialize(de)?),
        Kind::Service => Object::Service(Service::deserialize(de)?),
        Kind::EndpointSlice => Object::EndpointSlice(EndpointSlice::deserialize(de)?),
        Kind::Secret => Object::Secret(Secret::deserialize(de)?),
        Kind::Ingress => Object::Ingress(Ingress::deserialize(de)?),
        _ => return Err(de::Error::custom("not a built-in kind")),
    };
    if !finish(kind, meta_mut(&mut object)) {
        return Err(de::Error::custom("the general road reports this object"));
    }
    Ok(object)
}

fn meta_mut(object: &mut Object) -> &mut ObjectMeta {
    match object {
        Object::Namespace(o) => &mut o.metadata,
        Object::Service(o) => &mut o.metadata,
        Object::EndpointSlice(o) => &mut o.metadata,
        Object::Secret(o) => &mut o.metadata,
        Object::Ingress(o) => &mut o.metadata,
        Object::HTTPProxy(o) => &mut o.metadata,
        Object::TLSCertificateDelegation(o) => &mut o.metadata,
        Object::ExtensionService(o) => &mut o.metadata,
    }
}

/// What the general road does to the metadata (`identify`, `drop_unread_fields`); `false`
/// when the object has no name (the general road rejects it with its message).
fn finish(kind: Kind, meta: &mut ObjectMeta) -> bool {
    if meta.name.as_deref().is_none_or(str::is_empty) {
        return false;
    }
    if !kind.is_namespaced() {
        meta.namespace = None;
    } else if meta.namespace.as_deref().is_none_or(str::is_empty) {
        meta.namespace = Some("default".into());
    }
    meta.managed_fields = None;
    if let Some(annotations) = &mut meta.annotations {
        annotations.remove(LAST_APPLIED);
    }
    true
}

/// The top-level entries for the typed decoder: those read as `Value`s, then the rest of the
/// mapping. `status` is skipped (the general road drops it before decoding).
struct Rest<A> {
    seen: std::vec::IntoIter<(String, Value)>,
    /// Where the value of the key just given is: read already, or next in the mapping.
    next: Option<Option<Value>>,
    map: A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Rest<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let key = loop {
            if let Some((key, value)) = self.seen.next() {
                if key != "status" {
                    self.next = Some(Some(value));
                    break key;
                }
                continue;
            }
            let Some(key) = self.map.next_key::<String>()? else {
                return Ok(None);
            };
            if key == "status" {
                self.map.next_value::<IgnoredAny>()?;
                continue;
            }
            self.next = Some(None);
            break key;
        };
        seed.deserialize(StringDeserializer::<A::Error>::new(key))
            .map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        match self.next.take() {
            Some(Some(value)) => seed.deserialize(value).map_err(de::Error::custom),
            Some(None) => self.map.next_value_seed(StrictSeed(seed)),
            None => Err(de::Error::custom("value asked before its key")),
        }
    }
}

/// A YAML deserializer that hands its visitor what `serde_json::Value`'s deserializer would
/// for the same document: every typed request is answered from the self-described value
/// (YAML's `deserialize_str` would take a plain `80` or `true` as a string; JSON does not),
/// options as `Value` has them, enums refused (the general road decides).
struct Strict<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(Wrap(visitor))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_option(Wrap(visitor))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, D::Error> {
        Err(de::Error::custom("enums are decoded on the general road"))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_ignored_any(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

/// A visitor whose nested deserializers, sequences and mappings are [`Strict`] too.
struct Wrap<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.expecting(f)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<V::Value, E> {
        self.0.visit_bool(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<V::Value, E> {
        self.0.visit_i64(v)
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<V::Value, E> {
        self.0.visit_i128(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<V::Value, E> {
        self.0.visit_u64(v)
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<V::Value, E> {
        self.0.visit_u128(v)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<V::Value, E> {
        self.0.visit_f64(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<V::Value, E> {
        self.0.visit_str(v)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<V::Value, E> {
        self.0.visit_borrowed_str(v)
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<V::Value, E> {
        self.0.visit_string(v)
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_unit()
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.0.visit_some(Strict(d))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.0.visit_newtype_struct(Strict(d))
    }

    fn visit_seq<S: SeqAccess<'de>>(self, seq: S) -> Result<V::Value, S::Error> {
        self.0.visit_seq(StrictSeq(seq))
    }

    fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<V::Value, M::Error> {
        self.0.visit_map(StrictMap(map))
    }
}

struct StrictSeed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for StrictSeed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Strict(d))
    }
}

struct StrictSeq<S>(S);

impl<'de, S: SeqAccess<'de>> SeqAccess<'de> for StrictSeq<S> {
    type Error = S::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, S::Error> {
        self.0.next_element_seed(StrictSeed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

struct StrictMap<M>(M);

impl<'de, M: MapAccess<'de>> MapAccess<'de> for StrictMap<M> {
    type Error = M::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, M::Error> {
        self.0.next_key_seed(KeySeed(seed))
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, M::Error> {
        self.0.next_value_seed(StrictSeed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

/// Mapping keys are strings in a `Value` (`serde_json` reads them with `deserialize_str`,
/// which takes any YAML scalar as its text): a key is always read that way.
struct KeySeed<K>(K);

impl<'de, K: DeserializeSeed<'de>> DeserializeSeed<'de> for KeySeed<K> {
    type Value = K::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<K::Value, D::Error> {
        self.0.deserialize(Key(d))
    }
}

struct Key<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Key<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_str(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

#[cfg(test)]
#[path = "direct_tests.rs"]
mod tests;
