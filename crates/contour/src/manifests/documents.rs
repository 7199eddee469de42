//! Splitting a manifest file into documents and parsing each one into a JSON value.
//!
//! YAML files are split on `---` document markers *before* parsing, so a syntax error in one
//! document does not hide the documents after it (libyaml stops at the first error). A document
//! marker at column 0 cannot occur inside a scalar (YAML forbids it), so the split is exact.
//! Line numbers in error messages are shifted back to lines of the whole file.

use serde_json::Value;

use super::direct::{self, Doc};
use super::fast_yaml;
use super::fast_yaml_de::NodeDe;

/// One document of a file, parsed or not.
#[derive(Debug)]
pub(super) struct RawDocument {
    /// 1-based position of the document in its file (empty documents are not counted).
    pub index: usize,
    /// 1-based line of the file where the document starts.
    pub line: usize,
    pub value: Result<Doc, SyntaxError>,
}

/// A document the parser could not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SyntaxError {
    /// 1-based line of the file where the parser located the error.
    pub line: usize,
    pub message: String,
}

/// Parses a YAML stream (one or more documents).
pub(super) fn yaml_documents(text: &str) -> Vec<RawDocument> {
    split_yaml(text)
        .into_iter()
        .filter(|chunk| has_content(chunk.text))
        .enumerate()
        .map(|(i, chunk)| RawDocument {
            index: i + 1,
            line: chunk.first_content_line(),
            value: parse_yaml_chunk(chunk.text, chunk.line),
        })
        .collect()
}

/// Parses a JSON file: one value, or several values one after another.
pub(super) fn json_documents(text: &str) -> Vec<RawDocument> {
    let mut docs = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    loop {
        let start = stream.byte_offset();
        let Some(next) = stream.next() else { break };
        let index = docs.len() + 1;
        let value_start = start + leading_whitespace(&text[start..]);
        let line = line_of_offset(text, value_start);
        match next {
            Ok(value) => docs.push(RawDocument {
                index,
                line,
                value: Ok(Doc::Value(value)),
            }),
            Err(err) => {
                let message = strip_json_location(&err.to_string());
                let error = SyntaxError {
                    line: err.line().max(1),
                    message,
                };
                docs.push(RawDocument {
                    index,
                    line,
                    value: Err(error),
                });
                // The JSON stream cannot resynchronise after an error.
                break;
            }
        }
    }
    docs
}

/// A piece of a YAML stream holding at most one document.
struct Chunk<'a> {
    text: &'a str,
    /// 1-based line of the file where the chunk starts.
    line: usize,
}

impl Chunk<'_> {
    fn first_content_line(&self) -> usize {
        let skipped = self
            .text
            .lines()
            .take_while(|l| is_blank_or_comment(l) || (is_marker(l, "---") && l.trim() == "---"))
            .count();
        self.line + skipped.min(self.text.lines().count().saturating_sub(1))
    }
}

fn split_yaml(text: &str) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1usize;
    let mut offset = 0usize;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if is_marker(line, "---") && offset > start && !only_directives(&text[start..offset]) {
            chunks.push(Chunk {
                text: &text[start..offset],
                line: start_line,
            });
            start = offset;
            start_line = i + 1;
        }
        offset += line.len();
    }
    chunks.push(Chunk {
        text: &text[start..],
        line: start_line,
    });
    chunks
}

/// `---` or `...` at column 0, alone or followed by whitespace.
fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']))
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// Directives (`%YAML`) belong to the document after the next `---`.
fn only_directives(text: &str) -> bool {
    text.lines()
        .all(|l| is_blank_or_comment(l) || l.starts_with('%'))
        && text.lines().any(|l| l.starts_with('%'))
}

/// Whether a chunk holds anything besides markers, comments and blank lines.
fn has_content(text: &str) -> bool {
    text.lines().any(|l| {
        let rest = if is_marker(l, "---") || is_marker(l, "...") {
            &l[3..]
        } else {
            l
        };
        !is_blank_or_comment(rest) && !l.starts_with('%')
    })
}

/// A document: read by the fast reader when it is of its shape, else by serde_norway; then
/// built-in kinds straight into their type ([`direct`]); anything else, and anything
/// [`direct`] does not take, as a `Value` (the general road, with its errors).
fn parse_yaml_chunk(text: &str, first_line: usize) -> Result<Doc, SyntaxError> {
    let direct = match fast_yaml::parse(text) {
        Some(node) => direct::parse_from(NodeDe(node)),
        None => direct::parse(text),
    };
    if let Some(doc) = direct {
        return Ok(doc);
    }
    parse_yaml_value(text, first_line).map(Doc::Value)
}

fn parse_yaml_value(text: &str, first_line: usize) -> Result<Value, SyntaxError> {
    serde_norway::from_str::<Value>(text).map_err(|err| {
        let shift = first_line - 1;
        let line = err.location().map_or(first_line, |loc| loc.line() + shift);
        SyntaxError {
            line,
            message: shift_lines(&err.to_string(), shift),
        }
    })
}

/// Rewrites every `line N` in a parser message to `line N+shift`.
fn shift_lines(message: &str, shift: usize) -> String {
    if shift == 0 {
        return message.to_owned();
    }
    let mut out = String::with_capacity(message.len() + 8);
    let mut rest = message;
    while let Some(pos) = rest.find("line ") {
        let (before, after) = rest.split_at(pos + "line ".len());
        out.push_str(before);
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        match after[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&(n + shift).to_string()),
            Err(_) => out.push_str(&after[..digits]),
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// serde_json appends " at line L column C"; the line is reported separately.
fn strip_json_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(pos) => message[..pos].to_owned(),
        None => message.to_owned(),
    }
}

fn leading_whitespace(text: &str) -> usize {
    text.len() - text.trim_start().len()
}

/// 1-based line of a byte offset.
pub(super) fn line_of_offset(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn value(v: Value) -> Doc {
        Doc::Value(v)
    }

    #[test]
    fn splits_documents_and_skips_empty_ones() {
        let text = "---\n# only a comment\n---\na: 1\n---\n\n---\nb: 2\n...\n";
        let docs = yaml_documents(text);
        let values: Vec<_> = docs.iter().map(|d| d.value.clone().unwrap()).collect();
        assert_eq!(values, vec![value(json!({"a": 1})), value(json!({"b": 2}))]);
        assert_eq!((docs[0].index, docs[0].line), (1, 4));
        assert_eq!((docs[1].index, docs[1].line), (2, 8));
    }

    #[test]
    fn syntax_error_is_local_to_its_document_with_file_line() {
        let text = "a: 1\n---\nb: [1, 2\nc: 3\n---\nd: 4\n";
        let docs = yaml_documents(text);
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0].value.as_ref().unwrap(), &value(json!({"a": 1})));
        let err = docs[1].value.as_ref().unwrap_err();
        assert!(err.line >= 3 && err.line <= 5, "line {}", err.line);
        assert!(
            err.message.contains(&format!("line {}", err.line)),
            "{}",
            err.message
        );
        assert_eq!(docs[2].value.as_ref().unwrap(), &value(json!({"d": 4})));
    }

    #[test]
    fn marker_with_inline_content_and_directives() {
        let text = "%YAML 1.1\n--- {a: 1}\n--- \nb: 2\n";
        let docs = yaml_documents(text);
        let values: Vec<_> = docs.iter().map(|d| d.value.clone().unwrap()).collect();
        assert_eq!(values, vec![value(json!({"a": 1})), value(json!({"b": 2}))]);
    }

    #[test]
    fn json_stream_and_error_line() {
        let docs = json_documents("{\"a\": 1}\n\n{\"b\": 2}\n{\"c\": \n");
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[1].line, 3);
        assert_eq!(docs[1].value.as_ref().unwrap(), &value(json!({"b": 2})));
        let err = docs[2].value.as_ref().unwrap_err();
        assert_eq!(docs[2].line, 4);
        assert!(err.line >= 4, "{err:?}");
    }

    #[test]
    fn shift_lines_rewrites_every_mark() {
        let msg = "did not find expected key at line 2 column 1, while parsing at line 1 column 1";
        assert_eq!(
            shift_lines(msg, 10),
            "did not find expected key at line 12 column 1, while parsing at line 11 column 1"
        );
    }
}
