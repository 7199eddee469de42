//! The fast reader's one-line parts: quoted scalars and flow collections (`{a: b}`, `[1, 2]`),
//! read within one line; anything else on them makes the reader step aside.

use std::borrow::Cow;

use super::fast_yaml::{MAX_DEPTH, Node, Scalar, plain_start, push_entry, resolve};

/// A one-line quoted scalar at the start of `text`, and what follows it.
pub(super) fn quoted(text: &str) -> Option<(Node<'_>, &str)> {
    if text.starts_with('\'') {
        single_quoted(text)
    } else {
        double_quoted(text)
    }
}

fn single_quoted(text: &str) -> Option<(Node<'_>, &str)> {
    let body = &text[1..];
    let mut owned: Option<String> = None;
    let mut i = 0;
    let bytes = body.as_bytes();
    loop {
        let q = body[i..].find('\'')? + i;
        if bytes.get(q + 1) == Some(&b'\'') {
            owned.get_or_insert_with(String::new).push_str(&body[i..=q]);
            i = q + 2;
            continue;
        }
        return Some(closed(body, owned, i, q));
    }
}

fn double_quoted(text: &str) -> Option<(Node<'_>, &str)> {
    let body = &text[1..];
    let mut owned: Option<String> = None;
    let mut i = 0;
    loop {
        let stop = body[i..].find(['"', '\\'])? + i;
        if body.as_bytes()[stop] == b'"' {
            return Some(closed(body, owned, i, stop));
        }
        let escaped = match body.as_bytes().get(stop + 1)? {
            b'\\' => '\\',
            b'"' => '"',
            b'/' => '/',
            b'n' => '\n',
            b't' => '\t',
            _ => return None,
        };
        let s = owned.get_or_insert_with(String::new);
        s.push_str(&body[i..stop]);
        s.push(escaped);
        i = stop + 2;
    }
}

/// The quoted scalar whose closing quote is at `end` of `body`, and what follows it: `body`
/// itself up to there, or the text unescaped so far (`owned`) and the rest from `from`.
fn closed(body: &str, owned: Option<String>, from: usize, end: usize) -> (Node<'_>, &str) {
    let value = match owned {
        Some(mut s) => {
            s.push_str(&body[from..end]);
            Cow::Owned(s)
        }
        None => Cow::Borrowed(&body[..end]),
    };
    (Node::Scalar(value, Scalar::Str), &body[end + 1..])
}

/// A flow collection on one line.
pub(super) struct Flow<'a> {
    pub text: &'a str,
    pub at: usize,
    /// Collections open around the one being read, block ones included.
    pub depth: usize,
}

impl<'a> Flow<'a> {
    fn skip_spaces(&mut self) {
        while self.text.as_bytes().get(self.at) == Some(&b' ') {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.skip_spaces();
        let found = self.text.as_bytes().get(self.at) == Some(&byte);
        if found {
            self.at += 1;
        }
        found
    }

    pub fn node(&mut self) -> Option<Node<'a>> {
        self.depth += 1;
        let node = self.node_within_depth();
        self.depth -= 1;
        node
    }

    fn node_within_depth(&mut self) -> Option<Node<'a>> {
        if self.depth > MAX_DEPTH {
            return None;
        }
        self.skip_spaces();
        match *self.text.as_bytes().get(self.at)? {
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                if self.eat(b']') {
                    return Some(Node::Seq(items));
                }
                loop {
                    let item = self.node()?;
                    self.skip_spaces();
                    if self.text.as_bytes().get(self.at) == Some(&b':') {
                        return None;
                    }
                    items.push(item);
                    if self.eat(b']') {
                        return Some(Node::Seq(items));
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            b'{' => {
                self.at += 1;
                let mut entries: Vec<(Node<'a>, Node<'a>)> = Vec::new();
                if self.eat(b'}') {
                    return Some(Node::Map(entries));
                }
                loop {
                    let key = self.scalar()?;
                    if !self.text[self.at..].starts_with(": ") {
                        return None;
                    }
                    self.at += 2;
                    let value = self.node()?;
                    push_entry(&mut entries, key, value)?;
                    if self.eat(b'}') {
                        return Some(Node::Map(entries));
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            _ => self.scalar(),
        }
    }

    /// A quoted or plain scalar inside a flow collection.
    fn scalar(&mut self) -> Option<Node<'a>> {
        self.skip_spaces();
        let rest = &self.text[self.at..];
        if matches!(rest.as_bytes().first(), Some(b'"' | b'\'')) {
            let (node, after) = quoted(rest)?;
            self.at = self.text.len() - after.len();
            return Some(node);
        }
        let bytes = rest.as_bytes();
        let mut end = 0;
        while end < bytes.len() {
            match bytes[end] {
                b',' | b'[' | b']' | b'{' | b'}' | b'#' => break,
                b':' if matches!(bytes.get(end + 1), None | Some(b' ' | b',' | b']' | b'}')) => {
                    break;
                }
                _ => end += 1,
            }
        }
        if bytes.get(end) == Some(&b'#') {
            return None;
        }
        let value = rest[..end].trim_end_matches(' ');
        if !plain_start(value) {
            return None;
        }
        self.at += end;
        Some(Node::Scalar(Cow::Borrowed(value), resolve(value)?))
    }
}
