//! Locating keys in the text of a contour.yaml, for error messages.

use super::ConfigError;

/// Whether the text has anything but blank lines, comments and document markers.
pub(super) fn has_content(text: &str) -> bool {
    text.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#') && t != "---" && t != "..."
    })
}

/// A parser error as a [`ConfigError`]: the parser names the key path (`a.b: message`) and the
/// line; an unknown key is named by the message itself.
pub(super) fn parse_error(text_in: &str, err: serde_norway::Error) -> ConfigError {
    let line = err.location().map(|l| l.line());
    let mut text = err.to_string();
    if let Some(i) = text.rfind(" at line ") {
        text.truncate(i);
    }
    let (mut key, message) = split_path(&text);
    if let Some(unknown) = unknown_field(&message) {
        key = if key.is_empty() || key == "." {
            unknown
        } else {
            format!("{key}.{unknown}")
        };
    } else if let Some(on_line) = line.and_then(|l| key_on_line(text_in, l)) {
        // A value check names its parent section; the key is the one written on that line.
        let last = key.rsplit('.').next().unwrap_or_default();
        if last != on_line {
            key = if key.is_empty() {
                on_line
            } else {
                format!("{key}.{on_line}")
            };
        }
    }
    ConfigError { key, line, message }
}

/// The mapping key written on 1-based line `line`, if any.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?.trim_start();
    let l = l.strip_prefix("- ").unwrap_or(l);
    let (key, _) = l.split_once(':')?;
    let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
    (!key.is_empty() && !key.contains(' ')).then(|| key.to_string())
}

/// `timeouts.request-timeout: invalid duration` → (`timeouts.request-timeout`, `invalid ...`).
fn split_path(text: &str) -> (String, String) {
    match text.split_once(": ") {
        Some((path, rest))
            if !path.contains(' ') && !path.is_empty() && !path.starts_with("unknown") =>
        {
            (path.to_string(), rest.to_string())
        }
        _ => (String::new(), text.to_string()),
    }
}

/// The key of an ``unknown field `x`, expected ...`` message.
fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest.split('`').next()?.to_string())
}

/// The 1-based line where the dotted key path `a.b.c` is written, following indentation.
/// `None` when the path is not found (for example when the key was left out).
pub(super) fn key_line(text: &str, path: &str) -> Option<usize> {
    let mut parts = path.split('.').peekable();
    let mut want = parts.next()?;
    let mut min_indent = 0usize;
    let mut parent_indent: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        // A list item's key sits two columns right of its dash (`- key:`), even when the
        // dash is at its parent key's indentation.
        let dash = if trimmed.starts_with("- ") { 2 } else { 0 };
        let indent = line.len() - trimmed.len() + dash;
        if let Some(p) = parent_indent
            && indent <= p
        {
            return None; // left the parent's block without finding the key
        }
        if indent < min_indent {
            continue;
        }
        let key = trimmed.trim_start_matches("- ");
        if key.strip_prefix(want).is_some_and(|r| r.starts_with(':')) {
            match parts.next() {
                None => return Some(i + 1),
                Some(next) => {
                    want = next;
                    parent_indent = Some(indent);
                    min_indent = indent + 1;
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_keys() {
        let text = "a: 1\ntls:\n  # comment\n  x: 1\ntimeouts:\n  x: 2\n  request-timeout: 5s\n";
        assert_eq!(key_line(text, "timeouts.request-timeout"), Some(7));
        assert_eq!(key_line(text, "tls.x"), Some(4));
        assert_eq!(key_line(text, "timeouts.x"), Some(6));
        assert_eq!(key_line(text, "a"), Some(1));
        assert_eq!(key_line(text, "tls.request-timeout"), None);
        assert_eq!(key_line(text, "nope"), None);
    }
}
