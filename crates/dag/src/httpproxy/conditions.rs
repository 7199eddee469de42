//! Match conditions: validation and merging down the include chain, with upstream's rules and
//! messages (`internal/dag/conditions.go`).

use contour_api::v1::{HeaderMatchCondition, MatchCondition, QueryParameterMatchCondition};

use crate::model::{HeaderMatch, HeaderMatchKind, PathMatch, QueryMatchKind, QueryParamMatch};

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

/// Merges the path conditions of a whole include chain, as upstream does: the path strings are
/// concatenated, repeated slashes collapse, and the last condition of the chain decides the
/// match type (a regex anywhere makes the whole match a regex). No path at all means prefix `/`.
pub fn merge_path(conds: &[&MatchCondition]) -> PathMatch {
    let mut merged = String::new();
    let mut is_regex = false;
    for c in conds {
        if let Some(p) = non_empty(&c.prefix) {
            merged.push_str(p);
        } else if let Some(e) = non_empty(&c.exact) {
            merged.push_str(e);
        } else if let Some(r) = non_empty(&c.regex) {
            merged.push_str(r);
            is_regex = true;
        }
    }
    let merged = collapse_slashes(&merged);
    if merged.is_empty() {
        return PathMatch::Prefix("/".to_string());
    }
    let last_exact = conds
        .last()
        .is_some_and(|c| non_empty(&c.prefix).is_none() && non_empty(&c.exact).is_some());
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

/// The header conditions of a chain, in order.
pub fn merge_headers(conds: &[&MatchCondition]) -> Vec<HeaderMatch> {
    conds
        .iter()
        .filter_map(|c| c.header.as_deref())
        .filter_map(header_match)
        .collect()
}

/// The query parameter conditions of a chain, in order.
pub fn merge_query(conds: &[&MatchCondition]) -> Vec<QueryParamMatch> {
    conds
        .iter()
        .filter_map(|c| c.query_parameter.as_deref())
        .filter_map(query_match)
        .collect()
}

fn header_match(h: &HeaderMatchCondition) -> Option<HeaderMatch> {
    let ignore_case = h.ignore_case.unwrap_or(false);
    let missing_empty = h.treat_missing_as_empty.unwrap_or(false);
    let (kind, ignore_case, missing_empty) = if h.present == Some(true) {
        (HeaderMatchKind::Present, false, false)
    } else if h.not_present == Some(true) {
        (HeaderMatchKind::NotPresent, false, false)
    } else if let Some(v) = non_empty(&h.contains) {
        (HeaderMatchKind::Contains(v.into()), ignore_case, false)
    } else if let Some(v) = non_empty(&h.not_contains) {
        (
            HeaderMatchKind::NotContains(v.into()),
            ignore_case,
            missing_empty,
        )
    } else if let Some(v) = non_empty(&h.exact) {
        (HeaderMatchKind::Exact(v.into()), ignore_case, false)
    } else if let Some(v) = non_empty(&h.not_exact) {
        (
            HeaderMatchKind::NotExact(v.into()),
            ignore_case,
            missing_empty,
        )
    } else if let Some(v) = non_empty(&h.regex) {
        (HeaderMatchKind::Regex(v.into()), false, false)
    } else {
        return None;
    };
    Some(HeaderMatch {
        name: h.name.clone(),
        kind,
        ignore_case,
        treat_missing_as_empty: missing_empty,
    })
}

fn query_match(q: &QueryParameterMatchCondition) -> Option<QueryParamMatch> {
    let ignore_case = q.ignore_case.unwrap_or(false);
    let (kind, ignore_case) = if let Some(v) = non_empty(&q.exact) {
        (QueryMatchKind::Exact(v.into()), ignore_case)
    } else if let Some(v) = non_empty(&q.prefix) {
        (QueryMatchKind::Prefix(v.into()), ignore_case)
    } else if let Some(v) = non_empty(&q.suffix) {
        (QueryMatchKind::Suffix(v.into()), ignore_case)
    } else if let Some(v) = non_empty(&q.regex) {
        (QueryMatchKind::Regex(v.into()), false)
    } else if let Some(v) = non_empty(&q.contains) {
        (QueryMatchKind::Contains(v.into()), ignore_case)
    } else if q.present == Some(true) {
        (QueryMatchKind::Present, false)
    } else {
        return None;
    };
    Some(QueryParamMatch {
        name: q.name.clone(),
        kind,
        ignore_case,
    })
}

/// Upstream's `pathMatchConditionsValid`: paths start with `/`, regexes compile, at most one
/// path condition per block.
pub fn validate_path(conds: &[MatchCondition]) -> Result<(), String> {
    let mut paths = 0;
    for c in conds {
        for (kind, value) in [
            ("prefix", &c.prefix),
            ("exact", &c.exact),
            ("regex", &c.regex),
        ] {
            let Some(v) = non_empty(value) else { continue };
            paths += 1;
            if !v.starts_with('/') {
                return Err(format!(
                    "{kind} conditions must start with /, {v} was supplied"
                ));
            }
            if kind == "regex"
                && let Err(e) = crate::go_regexp::check(v)
            {
                return Err(format!("supplied regex: {v} invalid. error: {e}"));
            }
        }
    }
    if paths > 1 {
        return Err(
            "more than one prefix, exact or regex is not allowed in a condition block".into(),
        );
    }
    Ok(())
}

/// Upstream's `includeMatchConditionsValid`: includes take prefixes only.
pub fn validate_include_path(conds: &[MatchCondition]) -> Result<(), String> {
    for c in conds {
        if non_empty(&c.exact).is_some() {
            return Err("exact conditions are not allowed in includes block".into());
        }
        if non_empty(&c.regex).is_some() {
            return Err("regex conditions are not allowed in includes block".into());
        }
    }
    Ok(())
}

/// Upstream's `headerMatchConditionsValid`: no contradictory or duplicate exact conditions on
/// one header, regexes compile. Header names compare case-insensitively.
pub fn validate_headers(conds: &[&MatchCondition]) -> Result<(), &'static str> {
    let mut seen: Vec<HeaderMatchCondition> = Vec::new();
    let mut exact_names: Vec<String> = Vec::new();
    let was_seen = |seen: &[HeaderMatchCondition], probe: HeaderMatchCondition| -> bool {
        seen.contains(&probe)
    };
    for h in conds.iter().filter_map(|c| c.header.as_ref()) {
        let name = h.name.to_ascii_lowercase();
        let probe = |f: &dyn Fn(&mut HeaderMatchCondition)| {
            let mut p = HeaderMatchCondition {
                name: name.clone(),
                ..Default::default()
            };
            f(&mut p);
            was_seen(&seen, p)
        };
        const PRESENT: &str = "cannot specify contradictory 'present' and 'notpresent' conditions for the same route and header";
        const EXACT: &str = "cannot specify contradictory 'exact' and 'notexact' conditions for the same route and header";
        const CONTAINS: &str = "cannot specify contradictory 'contains' and 'notcontains' conditions for the same route and header";
        if h.present == Some(true) {
            if probe(&|p| p.not_present = Some(true)) {
                return Err(PRESENT);
            }
        } else if h.not_present == Some(true) {
            if probe(&|p| p.present = Some(true)) {
                return Err(PRESENT);
            }
        } else if let Some(v) = non_empty(&h.exact) {
            if exact_names.contains(&name) {
                return Err(
                    "cannot specify duplicate header 'exact match' conditions in the same route",
                );
            }
            exact_names.push(name.clone());
            if probe(&|p| p.not_exact = Some(v.to_string())) {
                return Err(EXACT);
            }
        } else if let Some(v) = non_empty(&h.not_exact) {
            if probe(&|p| p.exact = Some(v.to_string())) {
                return Err(EXACT);
            }
        } else if let Some(v) = non_empty(&h.contains) {
            if probe(&|p| p.not_contains = Some(v.to_string())) {
                return Err(CONTAINS);
            }
        } else if let Some(v) = non_empty(&h.not_contains) {
            if probe(&|p| p.contains = Some(v.to_string())) {
                return Err(CONTAINS);
            }
        } else if let Some(v) = non_empty(&h.regex)
            && crate::go_regexp::check(v).is_err()
        {
            return Err("invalid regular expression specified for 'regex' condition");
        }
        seen.push(normalized(h, name));
    }
    Ok(())
}

/// The condition as Go compares it: zero values (`false`, `""`) are the same as unset.
fn normalized(h: &HeaderMatchCondition, name: String) -> HeaderMatchCondition {
    let flag = |b: Option<bool>| b.filter(|b| *b);
    let text = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    HeaderMatchCondition {
        name,
        present: flag(h.present),
        not_present: flag(h.not_present),
        contains: text(&h.contains),
        not_contains: text(&h.not_contains),
        ignore_case: flag(h.ignore_case),
        exact: text(&h.exact),
        not_exact: text(&h.not_exact),
        regex: text(&h.regex),
        treat_missing_as_empty: flag(h.treat_missing_as_empty),
    }
}

/// Upstream's `queryParameterMatchConditionsValid`.
pub fn validate_query(conds: &[&MatchCondition]) -> Result<(), &'static str> {
    let mut exact_names: Vec<String> = Vec::new();
    for q in conds.iter().filter_map(|c| c.query_parameter.as_ref()) {
        let set = [&q.exact, &q.prefix, &q.suffix, &q.regex, &q.contains]
            .into_iter()
            .filter(|v| non_empty(v).is_some())
            .count()
            + usize::from(q.present == Some(true));
        if set == 0 {
            return Err("must specify at least one query parameter condition");
        }
        if set > 1 {
            return Err(
                "cannot specify more than one condition in the same match condition branch",
            );
        }
        let name = q.name.to_ascii_lowercase();
        if non_empty(&q.exact).is_some() {
            if exact_names.contains(&name) {
                return Err(
                    "cannot specify duplicate query parameter 'exact match' conditions in the same route",
                );
            }
            exact_names.push(name);
        }
        if let Some(v) = non_empty(&q.regex)
            && crate::go_regexp::check(v).is_err()
        {
            return Err("invalid regular expression specified for 'regex' condition");
        }
    }
    Ok(())
}

/// Merged prefix, sorted header conditions, sorted query conditions.
pub type IncludeIdentity = (String, Vec<HeaderMatch>, Vec<QueryParamMatch>);

/// The identity of an include's conditions for duplicate detection: its merged prefix and its
/// header and query conditions as multisets. `None` for conditions that never count as
/// duplicates (upstream's special case: no conditions, or a lone `/` prefix).
pub fn include_identity(conds: &[MatchCondition]) -> Option<IncludeIdentity> {
    let refs: Vec<&MatchCondition> = conds.iter().collect();
    let prefix = merge_path(&refs).value().to_string();
    let mut headers = merge_headers(&refs);
    let mut query = merge_query(&refs);
    if prefix == "/" && headers.is_empty() && query.is_empty() {
        return None;
    }
    headers.sort();
    query.sort();
    Some((prefix, headers, query))
}

#[cfg(test)]
#[path = "conditions_tests.rs"]
mod tests;
