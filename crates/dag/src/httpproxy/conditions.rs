//! Match conditions: validation and merging down the include chain.

use contour_api::v1::MatchCondition;

use crate::model::PathMatch;

/// Merges the path conditions of a whole include chain, as upstream does: the path strings are
/// concatenated, repeated slashes collapse, and the last path condition of the chain decides the
/// match type (a regex anywhere makes the whole match a regex). No path at all means prefix `/`.
pub fn merge_path(conds: &[&MatchCondition]) -> PathMatch {
    let mut merged = String::new();
    let mut is_regex = false;
    let mut last_exact = false;
    for c in conds {
        if let Some(p) = c.prefix.as_deref().filter(|p| !p.is_empty()) {
            merged.push_str(p);
            last_exact = false;
        } else if let Some(e) = c.exact.as_deref().filter(|p| !p.is_empty()) {
            merged.push_str(e);
            last_exact = true;
        } else if let Some(r) = c.regex.as_deref().filter(|p| !p.is_empty()) {
            merged.push_str(r);
            is_regex = true;
        }
    }
    let merged = collapse_slashes(&merged);
    if merged.is_empty() {
        return PathMatch::Prefix("/".to_string());
    }
    if is_regex {
        PathMatch::Regex(merged)
    } else if last_exact {
        PathMatch::Exact(merged)
    } else {
        PathMatch::Prefix(merged)
    }
}

fn collapse_slashes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if ch == '/' && out.ends_with('/') {
            continue;
        }
        out.push(ch);
    }
    out
}

/// Checks the path conditions of one condition block (a route's or an include's).
/// `allow_exact` is false for includes, which only take prefixes.
pub fn validate_path(conds: &[MatchCondition], allow_exact: bool) -> Result<(), String> {
    let mut paths = 0;
    for c in conds {
        for (kind, value) in [
            ("prefix", &c.prefix),
            ("exact", &c.exact),
            ("regex", &c.regex),
        ] {
            let Some(v) = value.as_deref() else { continue };
            if kind != "prefix" && !allow_exact {
                return Err(format!(
                    "{kind} conditions are not allowed in includes block"
                ));
            }
            if !v.starts_with('/') {
                return Err(format!(
                    "{kind} conditions must start with /, {v} was supplied"
                ));
            }
            if kind == "regex" && regex::Regex::new(v).is_err() {
                return Err(format!(
                    "regex condition {v} is not a valid regular expression"
                ));
            }
            paths += 1;
        }
    }
    if paths > 1 {
        return Err("more than one path condition is not allowed in a condition block".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(p: &str) -> MatchCondition {
        MatchCondition {
            prefix: Some(p.into()),
            ..Default::default()
        }
    }

    fn exact(p: &str) -> MatchCondition {
        MatchCondition {
            exact: Some(p.into()),
            ..Default::default()
        }
    }

    #[test]
    fn merge_follows_upstream() {
        let (a, b, slash, e) = (prefix("/api"), prefix("/v1"), prefix("/"), exact("/x"));
        assert_eq!(merge_path(&[]), PathMatch::Prefix("/".into()));
        assert_eq!(merge_path(&[&a, &b]), PathMatch::Prefix("/api/v1".into()));
        assert_eq!(merge_path(&[&a, &slash]), PathMatch::Prefix("/api/".into()));
        assert_eq!(merge_path(&[&slash, &slash]), PathMatch::Prefix("/".into()));
        assert_eq!(merge_path(&[&a, &e]), PathMatch::Exact("/api/x".into()));
    }

    #[test]
    fn validation() {
        assert!(validate_path(&[prefix("/a")], false).is_ok());
        assert!(validate_path(&[prefix("a")], true).is_err());
        assert!(validate_path(&[exact("/a")], false).is_err());
        assert!(validate_path(&[prefix("/a"), exact("/b")], true).is_err());
    }
}
