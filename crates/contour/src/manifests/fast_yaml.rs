//! A reader for the plain shape most manifests have, several times faster than libyaml.
//!
//! Kubernetes manifests, written by hand or by tools, are nearly always block mappings and
//! sequences of one-line scalars, with a few one-line flow collections (`{name: x}`, `[]`) and
//! literal blocks (`|`). This reader takes exactly that subset, line by line, into a small
//! tree ([`Node`]) that deserializes as serde_norway would ([`super::fast_yaml_de`]); on
//! anything outside it (anchors, tags, folded or multi-line scalars, escapes it does not know,
//! tabs, a plain scalar that might be a float or a hexadecimal number, a
//! duplicate key, a syntax error...) it gives up and the caller reads the document with
//! serde_norway, which then gives the same objects and the same error messages as always.
//! It never guesses: a document is either read here with the meaning YAML gives it, or not at
//! all.

use std::borrow::Cow;

use super::fast_yaml_inline::{Flow, quoted};

/// A parsed node. Scalars keep their text as written (what `deserialize_str` yields) and its
/// meaning under the core schema (what `deserialize_any` yields).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node<'a> {
    Scalar(Cow<'a, str>, Scalar),
    Seq(Vec<Node<'a>>),
    Map(Vec<(Node<'a>, Node<'a>)>),
}

/// What a scalar means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Scalar {
    Null,
    Bool(bool),
    Unsigned(u64),
    Negative(i64),
    Str,
}

/// Reads one document (the text between two `---` markers); `None` when it is not of the
/// subset this reader takes, or not a mapping.
pub(super) fn parse(text: &str) -> Option<Node<'_>> {
    if !acceptable_bytes(text) {
        return None;
    }
    let lines = lines(text)?;
    let mut reader = Reader {
        lines,
        at: 0,
        depth: 0,
    };
    reader.skip_blank();
    let first = reader.lines.get(reader.at)?;
    if first.indent != 0 || is_seq_entry(first.content) {
        return None;
    }
    let node = reader.mapping(0, None)?;
    reader.skip_blank();
    (reader.at == reader.lines.len()).then_some(node)
}

/// No carriage returns, tabs or other control characters, and none of the code points libyaml
/// refuses or reads as line breaks.
fn acceptable_bytes(text: &str) -> bool {
    let bytes_ok = text
        .bytes()
        .all(|b| b == b'\n' || (0x20..0x7f).contains(&b) || b >= 0x80);
    bytes_ok
        && (text.is_ascii()
            || text.chars().all(|c| {
                c.is_ascii()
                    || !(('\u{80}'..='\u{9f}').contains(&c)
                        || matches!(
                            c,
                            '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                        ))
            }))
}

/// A line of the document: its indentation and what follows it.
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    indent: usize,
    /// The line after its indentation, without the line break; empty for a blank line.
    content: &'a str,
    /// Blank or comment only.
    blank: bool,
}

/// Splits the document into lines; a leading `---` marker line counts as blank. `None` on a
/// directive, an inline document marker or a `...` marker.
fn lines(text: &str) -> Option<Vec<Line<'_>>> {
    let mut lines = Vec::with_capacity(text.len() / 24);
    for (i, raw) in text.split('\n').enumerate() {
        let marker = i == 0 && raw.starts_with("---");
        if marker && !raw[3..].trim_end_matches(' ').is_empty() {
            return None;
        }
        if !marker && (raw.starts_with("---") || raw.starts_with("...") || raw.starts_with('%')) {
            return None;
        }
        let content = if marker {
            ""
        } else {
            raw.trim_start_matches(' ')
        };
        lines.push(Line {
            indent: if marker { 0 } else { raw.len() - content.len() },
            content,
            blank: content.is_empty() || content.starts_with('#'),
        });
    }
    Some(lines)
}

/// Collections nested deeper than this are left to serde_norway (which has its own limit):
/// the reader recurses, and a hostile document must not exhaust a thread's stack.
pub(super) const MAX_DEPTH: usize = 64;

struct Reader<'a> {
    lines: Vec<Line<'a>>,
    at: usize,
    /// Collections open around the one being read.
    depth: usize,
}

impl<'a> Reader<'a> {
    fn skip_blank(&mut self) {
        while self.lines.get(self.at).is_some_and(|l| l.blank) {
            self.at += 1;
        }
    }

    /// The next line with content, without moving.
    fn peek(&mut self) -> Option<Line<'a>> {
        self.skip_blank();
        self.lines.get(self.at).copied()
    }

    /// A block mapping whose keys are at column `indent`. `first` is the rest of the current
    /// line when the mapping starts after a sequence entry's `- ` on it.
    fn mapping(&mut self, indent: usize, first: Option<&'a str>) -> Option<Node<'a>> {
        self.depth += 1;
        let node = self.mapping_entries(indent, first);
        self.depth -= 1;
        node
    }

    fn mapping_entries(&mut self, indent: usize, first: Option<&'a str>) -> Option<Node<'a>> {
        if self.depth > MAX_DEPTH {
            return None;
        }
        let mut entries: Vec<(Node<'a>, Node<'a>)> = Vec::new();
        let mut pending = first;
        loop {
            // The first entry of a mapping after `- ` is on a line the sequence has taken.
            let content = match pending.take() {
                Some(content) => content,
                None => match self.peek() {
                    Some(line) if line.indent == indent && !is_seq_entry(line.content) => {
                        self.at += 1;
                        line.content
                    }
                    Some(line) if line.indent > indent => return None,
                    _ => break,
                },
            };
            let (key, rest) = split_key(content)?;
            let value = self.value(indent, rest, true)?;
            push_entry(&mut entries, key, value)?;
        }
        Some(Node::Map(entries))
    }

    /// The value after a key's `: ` (or after `- `): `rest` is the rest of its line. Nested
    /// blocks start on the next lines, deeper than `indent` (or, for a mapping's value, a
    /// sequence at `indent` itself).
    fn value(&mut self, indent: usize, rest: &'a str, in_map: bool) -> Option<Node<'a>> {
        let rest = strip_comment_start(rest);
        if rest.is_empty() {
            return self.nested(indent, in_map);
        }
        let node = match rest.as_bytes()[0] {
            b'|' => return self.literal(indent, &rest[1..]),
            b'"' | b'\'' => {
                let (node, after) = quoted(rest)?;
                end_of_line(after)?;
                node
            }
            b'[' | b'{' => {
                let mut flow = Flow {
                    text: rest,
                    at: 0,
                    depth: self.depth,
                };
                let node = flow.node()?;
                end_of_line(&rest[flow.at..])?;
                node
            }
            _ => plain_block(rest)?,
        };
        // A deeper line after a one-line value would continue it (a multi-line scalar).
        match self.peek() {
            Some(line) if line.indent > indent => None,
            _ => Some(node),
        }
    }

    /// What follows `key:` or `-` alone on its line.
    fn nested(&mut self, indent: usize, in_map: bool) -> Option<Node<'a>> {
        let null = Node::Scalar(Cow::Borrowed(""), Scalar::Null);
        let Some(line) = self.peek() else {
            return Some(null);
        };
        if line.indent > indent {
            if is_seq_entry(line.content) {
                return self.sequence(line.indent);
            }
            // A scalar alone on the next line (the value) is refused as a mapping's entry.
            return self.mapping(line.indent, None);
        }
        if in_map && line.indent == indent && is_seq_entry(line.content) {
            return self.sequence(indent);
        }
        Some(null)
    }

    /// A block sequence whose `-` are at column `indent`.
    fn sequence(&mut self, indent: usize) -> Option<Node<'a>> {
        self.depth += 1;
        let node = self.sequence_items(indent);
        self.depth -= 1;
        node
    }

    fn sequence_items(&mut self, indent: usize) -> Option<Node<'a>> {
        if self.depth > MAX_DEPTH {
            return None;
        }
        let mut items = Vec::new();
        while let Some(line) = self.peek() {
            if line.indent != indent || !is_seq_entry(line.content) {
                if line.indent > indent {
                    return None;
                }
                break;
            }
            self.at += 1;
            let after_dash = &line.content[1..];
            let item_text = after_dash.trim_start_matches(' ');
            let column = indent + 1 + (after_dash.len() - item_text.len());
            let item_text = strip_comment_start(item_text);
            let item = if item_text.is_empty() {
                self.nested(indent, false)?
            } else if is_seq_entry(item_text) {
                return None;
            } else if starts_mapping(item_text) {
                self.mapping(column, Some(item_text))?
            } else {
                self.value(indent, item_text, false)?
            };
            items.push(item);
        }
        Some(Node::Seq(items))
    }

    /// A literal block scalar (`|`, `|-`, `|+`); `header` follows the `|`.
    fn literal(&mut self, indent: usize, header: &str) -> Option<Node<'a>> {
        let (chomp, comment) = match header.as_bytes().first() {
            Some(b'-') => (Chomp::Strip, &header[1..]),
            Some(b'+') => (Chomp::Keep, &header[1..]),
            _ => (Chomp::Clip, header),
        };
        // Only spaces and a comment may follow the header.
        if !(comment.trim_end_matches(' ').is_empty() || end_of_line(comment).is_some()) {
            return None;
        }
        // The block's lines: every following line that is empty or deeper than `indent`.
        let start = self.at;
        let mut end = start;
        let mut block_indent = None;
        while let Some(line) = self.lines.get(end) {
            let empty = line.content.is_empty();
            if !empty {
                if line.indent <= indent {
                    break;
                }
                let first = *block_indent.get_or_insert(line.indent);
                if line.indent < first {
                    break;
                }
            }
            end += 1;
        }
        let block_indent = block_indent?;
        let mut text = String::new();
        // Empty lines not yet written: they are line breaks if content follows.
        let mut breaks = 0usize;
        let mut started = false;
        for line in &self.lines[start..end] {
            if line.content.is_empty() {
                // Spaces beyond the block's indentation on an empty line would be content.
                if line.indent > block_indent {
                    return None;
                }
                breaks += 1;
                continue;
            }
            if started {
                text.push('\n');
            }
            text.extend(std::iter::repeat_n('\n', breaks));
            text.extend(std::iter::repeat_n(' ', line.indent - block_indent));
            text.push_str(line.content);
            breaks = 0;
            started = true;
        }
        match chomp {
            Chomp::Strip => {}
            Chomp::Clip => text.push('\n'),
            // Trailing empty lines kept: not read here.
            Chomp::Keep if breaks > 0 => return None,
            Chomp::Keep => text.push('\n'),
        }
        self.at = end;
        Some(Node::Scalar(Cow::Owned(text), Scalar::Str))
    }
}

enum Chomp {
    Strip,
    Clip,
    Keep,
}

/// Adds a mapping's entry; `None` for a duplicate key (left to serde_norway).
pub(super) fn push_entry<'a>(
    entries: &mut Vec<(Node<'a>, Node<'a>)>,
    key: Node<'a>,
    value: Node<'a>,
) -> Option<()> {
    if entries.iter().any(|(k, _)| k == &key) {
        return None;
    }
    entries.push((key, value));
    Some(())
}

/// `-` followed by a space or the end of the line.
fn is_seq_entry(content: &str) -> bool {
    content == "-" || content.starts_with("- ")
}

/// Whether a sequence entry's text is a mapping's first entry (`key: value`).
fn starts_mapping(text: &str) -> bool {
    !matches!(text.as_bytes()[0], b'[' | b'{' | b'|') && split_key(text).is_some()
}

/// A comment at the start of `text` (after the spaces already trimmed) leaves nothing.
fn strip_comment_start(text: &str) -> &str {
    if text.starts_with('#') { "" } else { text }
}

/// Only spaces and a comment may follow a one-line value.
fn end_of_line(after: &str) -> Option<()> {
    let trimmed = after.trim_start_matches(' ');
    (trimmed.is_empty() || (trimmed.starts_with('#') && trimmed.len() < after.len())).then_some(())
}

/// Splits `key: rest` (or `key:` at the end of the line); the key is plain or quoted.
fn split_key(content: &str) -> Option<(Node<'_>, &str)> {
    let (key, after) = if matches!(content.as_bytes().first(), Some(b'"' | b'\'')) {
        let (node, after) = quoted(content)?;
        (node, after.trim_start_matches(' '))
    } else {
        let end = key_end(content)?;
        let key = &content[..end];
        if key.len() > 1000 || !plain_start(key) || key.contains(" #") {
            return None;
        }
        (
            Node::Scalar(Cow::Borrowed(key), resolve(key)?),
            &content[end..],
        )
    };
    let rest = after.strip_prefix(':')?;
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    Some((key, rest.trim_start_matches(' ')))
}

/// Where a plain key ends: before the first `: ` or a final `:`, trailing spaces excluded.
fn key_end(content: &str) -> Option<usize> {
    let bytes = content.as_bytes();
    let colon = (0..bytes.len())
        .find(|&i| bytes[i] == b':' && (i + 1 == bytes.len() || bytes[i + 1] == b' '))?;
    let end = content[..colon].trim_end_matches(' ').len();
    (end > 0).then_some(end)
}

/// A plain scalar in a block (a value or a sequence entry): to the end of the line or a
/// comment. `None` where YAML would read something else or fail.
fn plain_block(text: &str) -> Option<Node<'_>> {
    let end = text.find(" #").unwrap_or(text.len());
    let value = text[..end].trim_end_matches(' ');
    if !plain_start(value) || value.contains(": ") || value.ends_with(':') {
        return None;
    }
    Some(Node::Scalar(Cow::Borrowed(value), resolve(value)?))
}

/// A plain scalar may not start with an indicator (`-`, `?`, `:` only before a non-space).
pub(super) fn plain_start(text: &str) -> bool {
    match text.as_bytes() {
        [] => false,
        [b'-', next, ..] => *next != b' ',
        [first, ..] => !b"-?:,[]{}#&*!|>'\"%@`".contains(first),
    }
}

/// The core schema's reading of a plain scalar, as serde_norway has it; `None` for the forms
/// this reader leaves to serde_norway (floats, `.inf`, `0x`/`0o`/`0b` integers, `+5`, `-0`,
/// leading zeros, integers of more than 18 digits).
pub(super) fn resolve(text: &str) -> Option<Scalar> {
    Some(match text {
        "" | "~" | "null" | "Null" | "NULL" => Scalar::Null,
        "true" | "True" | "TRUE" => Scalar::Bool(true),
        "false" | "False" | "FALSE" => Scalar::Bool(false),
        _ => {
            let (negative, digits) = match text.strip_prefix('-') {
                Some(digits) => (true, digits),
                None => (false, text),
            };
            if is_plain_decimal(digits) {
                let n: u64 = digits.parse().ok()?;
                match (negative, n) {
                    (false, n) => Scalar::Unsigned(n),
                    (true, 0) => return None,
                    (true, n) => Scalar::Negative(-i64::try_from(n).ok()?),
                }
            } else if might_be_number(text) {
                return None;
            } else {
                Scalar::Str
            }
        }
    })
}

/// 1 to 18 digits, without a leading zero (but `0` itself).
fn is_plain_decimal(digits: &str) -> bool {
    !digits.is_empty()
        && digits.len() <= 18
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
}

/// Whether serde_norway might read a plain scalar (not a plain decimal) as a number: a sign,
/// a digit or a dot first, and a float by Rust's parser, `.inf`/`.nan` in any case, a `+`, a
/// radix prefix or digits with a leading zero. (`0.0.0.0` or `10.0.0.1` are strings.)
fn might_be_number(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let Some(first) = unsigned.bytes().next() else {
        return true;
    };
    if !(first.is_ascii_digit() || first == b'.' || text.starts_with(['+', '-'])) {
        // Rust's float parser also takes `inf`, `infinity` and `nan`, but never as finite.
        return false;
    }
    let leading_zero = unsigned.len() > 1
        && unsigned.starts_with('0')
        && unsigned[1..].bytes().all(|b| b.is_ascii_digit());
    leading_zero
        || unsigned.starts_with('.')
        || ["0x", "0o", "0b"].iter().any(|p| unsigned.starts_with(p))
        || text.starts_with('+')
        || unsigned.parse::<f64>().is_ok()
}

#[cfg(test)]
#[path = "fast_yaml_tests.rs"]
mod tests;
