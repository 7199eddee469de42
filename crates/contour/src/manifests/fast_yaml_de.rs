//! Deserializing a [`Node`] as serde_norway deserializes the same YAML: `deserialize_any`
//! gives a plain scalar's core-schema meaning (null, boolean, integer or string) and a quoted
//! or block scalar as a string; `deserialize_str` gives any scalar's text; `deserialize_option`
//! gives `None` for a null plain scalar only.

use std::borrow::Cow;
use std::fmt;

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, Deserializer, IntoDeserializer, Visitor};

use super::fast_yaml::{Node, Scalar};

/// Why a document read by the fast reader did not decode (the caller then takes the general
/// road, which reports its own error).
#[derive(Debug)]
pub(super) struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// A deserializer over a node the fast reader built; consumes it so strings move out.
pub(super) struct NodeDe<'a>(pub Node<'a>);

impl<'de> NodeDe<'de> {
    fn visit_text<V: Visitor<'de>>(text: Cow<'de, str>, visitor: V) -> Result<V::Value, Error> {
        match text {
            Cow::Borrowed(text) => visitor.visit_borrowed_str(text),
            Cow::Owned(text) => visitor.visit_string(text),
        }
    }
}

impl<'de> Deserializer<'de> for NodeDe<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Node::Scalar(text, meaning) => match meaning {
                Scalar::Null => visitor.visit_unit(),
                Scalar::Bool(b) => visitor.visit_bool(b),
                Scalar::Unsigned(n) => visitor.visit_u64(n),
                Scalar::Negative(n) => visitor.visit_i64(n),
                Scalar::Str => Self::visit_text(text, visitor),
            },
            Node::Seq(items) => visitor.visit_seq(SeqDeserializer::new(items.into_iter())),
            Node::Map(entries) => visitor.visit_map(MapDeserializer::new(entries.into_iter())),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Node::Scalar(text, _) => Self::visit_text(text, visitor),
            _ => Err(de::Error::custom(
                "a collection where a string was expected",
            )),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Node::Scalar(_, Scalar::Null) => visitor.visit_none(),
            other => visitor.visit_some(NodeDe(other)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct enum
    }
}

/// Nodes inside collections deserialize through serde's own sequence and map accessors.
impl<'de> IntoDeserializer<'de, Error> for Node<'de> {
    type Deserializer = NodeDe<'de>;

    fn into_deserializer(self) -> NodeDe<'de> {
        NodeDe(self)
    }
}
