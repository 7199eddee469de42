//! Go's `regexp.Compile` verdict on a regular expression, with Go's error messages (upstream
//! Contour puts them in status conditions, e.g. a bad `regex` path condition).
//!
//! The expression is parsed with `regex-syntax` and its errors are translated into Go's codes
//! and expressions (`error parsing regexp: missing closing ): `/(a``). Where Go and Rust
//! disagree on validity for common input, Go's rule is applied: a `{` that does not start a
//! repeat count is a literal, repetition operators cannot be stacked (`a**`), and repeat
//! counts are at most 1000 (nested counts multiplied).

use regex_syntax::ast::{self, Ast, ErrorKind, RepetitionKind, RepetitionRange};
use regex_syntax::hir;

/// Go's limit on one repeat count, and on the product of nested ones.
const MAX_REPEAT: u32 = 1000;

/// A Go error: its code and the part of the expression it names.
fn go_error(code: &str, expr: &str) -> String {
    format!("error parsing regexp: {code}: `{expr}`")
}

/// `Ok` when Go would compile `re`, else Go's error message.
pub fn check(re: &str) -> Result<(), String> {
    let (text, inserted, parsed) = parse_go_braces(re)?;
    let at = |offset: usize| original_offset(offset, &inserted);
    let span_text = |s: &ast::Span| re[at(s.start.offset)..at(s.end.offset)].to_string();
    if let Some((code, span)) = go_repetition_error(&parsed) {
        return Err(go_error(code, &span_text(&span)));
    }
    if let Err(e) = hir::translate::Translator::new().translate(&text, &parsed) {
        return Err(match e.kind() {
            hir::ErrorKind::UnicodePropertyNotFound
            | hir::ErrorKind::UnicodePropertyValueNotFound
            | hir::ErrorKind::UnicodePerlClassNotFound => {
                go_error("invalid character class range", &span_text(e.span()))
            }
            other => go_error(&other.to_string(), re),
        });
    }
    match regex::Regex::new(&text) {
        Ok(_) => Ok(()),
        Err(_) => Err(go_error("expression too large", re)),
    }
}

/// Parses `re`, escaping each `{` that Go reads as a literal (one that does not start a valid
/// `{n}`, `{n,}` or `{n,m}`). Returns the parsable text, the byte offsets (in the text) of
/// the inserted backslashes and the syntax tree, or Go's message for any other parse error.
fn parse_go_braces(re: &str) -> Result<(String, Vec<usize>, Ast), String> {
    let mut text = re.to_string();
    let mut inserted: Vec<usize> = Vec::new();
    loop {
        let e = match ast::parse::Parser::new().parse(&text) {
            Ok(parsed) => return Ok((text, inserted, parsed)),
            Err(e) => e,
        };
        let start = e.span().start.offset;
        let brace = match e.kind() {
            ErrorKind::RepetitionCountUnclosed | ErrorKind::RepetitionCountDecimalEmpty => {
                text[..through(&text, start)].rfind('{')
            }
            ErrorKind::RepetitionMissing => {
                (text.as_bytes().get(start) == Some(&b'{')).then_some(start)
            }
            _ => None,
        };
        // Only a `{` that does not start a Go repeat count is a literal.
        let literal = |p: &usize| !is_escaped(&text, *p) && go_count_len(&text[*p..]).is_none();
        let Some(pos) = brace.filter(literal) else {
            let at = |o: usize| original_offset(o, &inserted);
            return Err(ast_error(re, &e, at));
        };
        text.insert(pos, '\\');
        inserted.push(pos);
    }
}

/// The length of a Go repeat count (`{n}`, `{n,}`, `{n,m}`; no leading zeros) at the start
/// of `s`, if there is one.
fn go_count_len(s: &str) -> Option<usize> {
    let rest = go_int(s.strip_prefix('{')?)?;
    let rest = match rest.strip_prefix(',') {
        None => rest,
        Some(r) if r.starts_with('}') => r,
        Some(r) => go_int(r)?,
    };
    let rest = rest.strip_prefix('}')?;
    Some(s.len() - rest.len())
}

/// What follows a Go decimal integer at the start of `s`.
fn go_int(s: &str) -> Option<&str> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let leading_zero = digits >= 2 && s.starts_with('0');
    (digits > 0 && !leading_zero).then(|| &s[digits..])
}

/// The end of `text` up to and including the character at `offset` (a char boundary).
fn through(text: &str, offset: usize) -> usize {
    text[offset.min(text.len())..]
        .chars()
        .next()
        .map_or(text.len(), |c| offset + c.len_utf8())
}

/// Whether the byte at `pos` is preceded by an odd number of backslashes.
fn is_escaped(text: &str, pos: usize) -> bool {
    text[..pos]
        .bytes()
        .rev()
        .take_while(|b| *b == b'\\')
        .count()
        % 2
        == 1
}

/// Maps an offset in the escaped text back to `re`.
fn original_offset(offset: usize, inserted: &[usize]) -> usize {
    offset - inserted.iter().filter(|p| **p < offset).count()
}

/// Go's message for a regex-syntax parse error.
fn ast_error(re: &str, e: &ast::Error, at: impl Fn(usize) -> usize) -> String {
    let (start, end) = (at(e.span().start.offset), at(e.span().end.offset));
    let span = &re[start..end];
    let (code, expr) = match e.kind() {
        ErrorKind::GroupUnclosed => ("missing closing )", re),
        ErrorKind::GroupUnopened => ("unexpected )", re),
        // Go names the class from its `[` to the end of the expression.
        ErrorKind::ClassUnclosed => ("missing closing ]", &re[start..]),
        ErrorKind::ClassRangeInvalid => ("invalid character class range", span),
        ErrorKind::EscapeUnexpectedEof => ("trailing backslash at end of expression", ""),
        ErrorKind::EscapeUnrecognized
        | ErrorKind::EscapeHexEmpty
        | ErrorKind::EscapeHexInvalid
        | ErrorKind::EscapeHexInvalidDigit
        | ErrorKind::UnsupportedBackreference => ("invalid escape sequence", span),
        ErrorKind::RepetitionMissing => ("missing argument to repetition operator", {
            // The operator itself, with its non-greedy `?`.
            let op = &re[start..];
            let len = if let Some(n) = go_count_len(op) {
                n
            } else if op.starts_with("*?") || op.starts_with("+?") || op.starts_with("??") {
                2
            } else {
                op.chars().next().map_or(0, char::len_utf8)
            };
            &op[..len]
        }),
        ErrorKind::RepetitionCountInvalid => ("invalid repeat count", span),
        ErrorKind::UnsupportedLookAround => ("invalid or unsupported Perl syntax", span),
        // Go names the group from its `(?` through the bad flag.
        ErrorKind::FlagUnrecognized | ErrorKind::FlagDanglingNegation => {
            let from = re[..start].rfind("(?").unwrap_or(start);
            ("invalid or unsupported Perl syntax", &re[from..end])
        }
        ErrorKind::GroupNameEmpty
        | ErrorKind::GroupNameInvalid
        | ErrorKind::GroupNameUnexpectedEof => {
            let from = re[..through(re, start)].rfind("(?").unwrap_or(start);
            let to = re[from..].find('>').map_or(re.len(), |i| from + i + 1);
            ("invalid named capture", &re[from..to])
        }
        ErrorKind::NestLimitExceeded(_) => ("expression nests too deeply", re),
        other => return go_error(&other.to_string(), re),
    };
    go_error(code, expr)
}

/// Go's repetition rules regex-syntax does not apply: stacked operators and large counts.
fn go_repetition_error(node: &Ast) -> Option<(&'static str, ast::Span)> {
    match node {
        Ast::Repetition(rep) => {
            if let Ast::Repetition(inner) = rep.ast.as_ref() {
                let span = ast::Span::new(inner.op.span.start, rep.op.span.end);
                return Some(("invalid nested repetition operator", span));
            }
            if let Some(e) = go_repetition_error(&rep.ast) {
                return Some(e);
            }
            let counted = matches!(rep.op.kind, RepetitionKind::Range(_));
            let (min, max) = bounds(&rep.op.kind);
            let too_big = min > MAX_REPEAT || max.is_some_and(|m| m > MAX_REPEAT);
            let checked = counted && (min >= 2 || max.is_some_and(|m| m >= 2));
            (too_big || checked && !repeat_is_valid(node, MAX_REPEAT))
                .then_some(("invalid repeat count", rep.op.span))
        }
        Ast::Group(g) => go_repetition_error(&g.ast),
        Ast::Alternation(a) => a.asts.iter().find_map(go_repetition_error),
        Ast::Concat(c) => c.asts.iter().find_map(go_repetition_error),
        _ => None,
    }
}

/// `(min, max)` of a repetition; `None` for no upper bound.
fn bounds(kind: &RepetitionKind) -> (u32, Option<u32>) {
    match kind {
        RepetitionKind::ZeroOrOne => (0, Some(1)),
        RepetitionKind::ZeroOrMore => (0, None),
        RepetitionKind::OneOrMore => (1, None),
        RepetitionKind::Range(RepetitionRange::Exactly(n)) => (*n, Some(*n)),
        RepetitionKind::Range(RepetitionRange::AtLeast(n)) => (*n, None),
        RepetitionKind::Range(RepetitionRange::Bounded(a, b)) => (*a, Some(*b)),
    }
}

/// Go's `repeatIsValid`: nested counted repetitions multiply to at most `n` copies.
fn repeat_is_valid(node: &Ast, mut n: u32) -> bool {
    let children: Vec<&Ast> = match node {
        Ast::Repetition(rep) => {
            if let RepetitionKind::Range(_) = rep.op.kind {
                let (min, max) = bounds(&rep.op.kind);
                let m = max.unwrap_or(min);
                if m == 0 {
                    return true;
                }
                if m > n {
                    return false;
                }
                n /= m;
            }
            vec![rep.ast.as_ref()]
        }
        Ast::Group(g) => vec![g.ast.as_ref()],
        Ast::Alternation(a) => a.asts.iter().collect(),
        Ast::Concat(c) => c.asts.iter().collect(),
        _ => Vec::new(),
    };
    children.into_iter().all(|c| repeat_is_valid(c, n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    /// Go 1.24's `regexp.Compile` messages for these expressions.
    #[rstest]
    #[case::missing_paren("/(a", "error parsing regexp: missing closing ): `/(a`")]
    #[case::missing_paren_nested("/((a)", "error parsing regexp: missing closing ): `/((a)`")]
    #[case::unexpected_paren("/a)", "error parsing regexp: unexpected ): `/a)`")]
    #[case::missing_bracket("/x[a-z", "error parsing regexp: missing closing ]: `[a-z`")]
    #[case::bad_range("/[z-a]", "error parsing regexp: invalid character class range: `z-a`")]
    #[case::bad_escape("/\\q", "error parsing regexp: invalid escape sequence: `\\q`")]
    #[case::backreference("/(a)\\1", "error parsing regexp: invalid escape sequence: `\\1`")]
    #[case::trailing_backslash(
        "/a\\",
        "error parsing regexp: trailing backslash at end of expression: ``"
    )]
    #[case::missing_argument(
        "/(*)",
        "error parsing regexp: missing argument to repetition operator: `*`"
    )]
    #[case::missing_argument_lazy(
        "/(+?)",
        "error parsing regexp: missing argument to repetition operator: `+?`"
    )]
    #[case::nested_repetition(
        "/a**",
        "error parsing regexp: invalid nested repetition operator: `**`"
    )]
    #[case::nested_count(
        "/a{2}+",
        "error parsing regexp: invalid nested repetition operator: `{2}+`"
    )]
    #[case::min_over_max("/a{5,2}", "error parsing regexp: invalid repeat count: `{5,2}`")]
    #[case::count_too_big("/a{1001}", "error parsing regexp: invalid repeat count: `{1001}`")]
    #[case::nested_counts_too_big(
        "/(a{100}){100}",
        "error parsing regexp: invalid repeat count: `{100}`"
    )]
    #[case::count_without_argument(
        "/(|{2})",
        "error parsing regexp: missing argument to repetition operator: `{2}`"
    )]
    #[case::lookahead(
        "/(?=a)",
        "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"
    )]
    #[case::bad_flag(
        "/(?z)",
        "error parsing regexp: invalid or unsupported Perl syntax: `(?z`"
    )]
    #[case::empty_name("/(?P<>a)", "error parsing regexp: invalid named capture: `(?P<>`")]
    #[case::unknown_class(
        "/\\p{Foo}",
        "error parsing regexp: invalid character class range: `\\p{Foo}`"
    )]
    fn go_messages(#[case] re: &str, #[case] want: &str) {
        assert_eq!(check(re).unwrap_err(), want);
    }

    /// Valid in Go (and RE2, which Envoy uses), though not all of them in Rust's syntax.
    #[rstest]
    #[case("/a{")]
    #[case("/a{,5}")]
    #[case("/a{x}")]
    #[case("/{1}b")]
    #[case("/a{2}{")]
    #[case("/(a{10}){100}")]
    #[case("/a{1000}")]
    #[case("/foo/[0-9]+/(bar|baz)?")]
    #[case("/\\{1}")]
    #[case("/a{01}")]
    fn go_accepts(#[case] re: &str) {
        assert_eq!(check(re), Ok(()));
    }

    /// Multi-byte characters next to errors never split a character.
    #[rstest]
    #[case("/a{é")]
    #[case("/a{,é")]
    #[case("/(?P<é>a)")]
    #[case("/(?P<é")]
    #[case("/é(")]
    #[case("/[é")]
    #[case("/é\\")]
    #[case("(?é)")]
    #[case("é{2}{")]
    fn multi_byte_input_does_not_panic(#[case] re: &str) {
        let _ = check(re);
    }
}
