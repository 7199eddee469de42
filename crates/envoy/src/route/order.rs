//! Route and header-condition ordering, following upstream's `internal/sorter` so that the same
//! request picks the same route as with upstream Contour (Envoy takes the first match).
//!
//! Order of routes within a virtual host:
//! 1. exact paths, then regexes, then prefixes;
//! 2. exact paths by value, descending; regexes and prefixes longest first, then by value,
//!    descending; for equal prefixes a segment prefix before a string prefix;
//! 3. then routes with a `:method` header condition first, then more header conditions first,
//!    then header conditions compared pairwise (see [`header_cmp`]).
//!
//! Upstream's comparator is a `Less` that is not always a strict weak order (its pairwise header
//! step is not lexicographic); this one is a total order that agrees with it wherever upstream's
//! is consistent, with the DAG match key as the final tie-break, so sorting is deterministic and
//! never panics.

use std::cmp::Ordering;

use contour_dag::{
    HeaderMatch, HeaderMatchKind, PathMatch, QueryMatchKind, QueryParamMatch, Route,
};

/// Compares two routes; `Less` means "try first".
pub fn route_cmp(a: &Route, b: &Route) -> Ordering {
    path_cmp(&a.path, &b.path)
        .then_with(|| conditions_cmp(a, b))
        .then_with(|| a.match_key().cmp(&b.match_key()))
}

/// Upstream's `compareRoutesByMethodHeaderQueryParams`: a `:method` condition first, then more
/// header conditions, then more query conditions, then header and query conditions pairwise.
fn conditions_cmp(a: &Route, b: &Route) -> Ordering {
    if a.headers.is_empty()
        && b.headers.is_empty()
        && a.query_params.is_empty()
        && b.query_params.is_empty()
    {
        return Ordering::Equal;
    }
    headers_count_cmp(&a.headers, &b.headers)
        .then_with(|| b.query_params.len().cmp(&a.query_params.len()))
        .then_with(|| headers_cmp(&a.headers, &b.headers))
        .then_with(|| {
            a.query_params
                .iter()
                .zip(&b.query_params)
                .map(|(x, y)| query_cmp(x, y))
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        })
}

fn headers_count_cmp(a: &[HeaderMatch], b: &[HeaderMatch]) -> Ordering {
    let has_method = |hs: &[HeaderMatch]| hs.iter().any(|h| h.name == ":method");
    let others = |hs: &[HeaderMatch]| hs.iter().filter(|h| h.name != ":method").count();
    has_method(b)
        .cmp(&has_method(a))
        .then_with(|| others(b).cmp(&others(a)))
}

/// `(match type rank, value)` of a query condition: exact, regex, prefix, suffix, contains,
/// present.
fn query_key(q: &QueryParamMatch) -> (u8, &str) {
    match &q.kind {
        QueryMatchKind::Exact(v) => (0, v),
        QueryMatchKind::Regex(v) => (1, v),
        QueryMatchKind::Prefix(v) => (2, v),
        QueryMatchKind::Suffix(v) => (3, v),
        QueryMatchKind::Contains(v) => (4, v),
        QueryMatchKind::Present => (5, ""),
    }
}

/// Query conditions by name, then type, then value, the case-sensitive one first.
pub fn query_cmp(a: &QueryParamMatch, b: &QueryParamMatch) -> Ordering {
    a.name
        .cmp(&b.name)
        .then_with(|| query_key(a).cmp(&query_key(b)))
        .then_with(|| a.ignore_case.cmp(&b.ignore_case))
}

fn path_class(p: &PathMatch) -> u8 {
    match p {
        PathMatch::Exact(_) => 0,
        PathMatch::Regex(_) => 1,
        PathMatch::Prefix(_) | PathMatch::SegmentPrefix(_) => 2,
    }
}

fn path_cmp(a: &PathMatch, b: &PathMatch) -> Ordering {
    let by_class = path_class(a).cmp(&path_class(b));
    if by_class != Ordering::Equal {
        return by_class;
    }
    let (va, vb) = (a.value(), b.value());
    let by_value = match a {
        // Exact: reverse lexical order.
        PathMatch::Exact(_) => vb.cmp(va),
        // Longest first, then reverse lexical order.
        _ => vb.len().cmp(&va.len()).then_with(|| vb.cmp(va)),
    };
    by_value.then_with(|| segment_first(a).cmp(&segment_first(b)))
}

fn segment_first(p: &PathMatch) -> u8 {
    match p {
        PathMatch::SegmentPrefix(_) => 0,
        _ => 1,
    }
}

fn headers_cmp(a: &[HeaderMatch], b: &[HeaderMatch]) -> Ordering {
    if a.is_empty() && b.is_empty() {
        // The common case; skip the allocations below.
        return Ordering::Equal;
    }
    let has_method = |hs: &[HeaderMatch]| hs.iter().any(|h| h.name == ":method");
    let others = |hs: &[HeaderMatch]| -> Vec<HeaderMatch> {
        let mut v: Vec<HeaderMatch> = hs.iter().filter(|h| h.name != ":method").cloned().collect();
        v.sort_by(header_cmp);
        v
    };
    // Routes with a method condition first.
    let by_method = has_method(b).cmp(&has_method(a));
    if by_method != Ordering::Equal {
        return by_method;
    }
    let (oa, ob) = (others(a), others(b));
    // More header conditions first.
    ob.len().cmp(&oa.len()).then_with(|| {
        oa.iter()
            .zip(ob.iter())
            .map(|(x, y)| header_cmp(x, y))
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    })
}

/// `(match type rank, value, inverted)` of a header condition: exact, regex, contains, present.
fn header_key(h: &HeaderMatch) -> (u8, &str, bool) {
    match &h.kind {
        HeaderMatchKind::Exact(v) => (0, v, false),
        HeaderMatchKind::NotExact(v) => (0, v, true),
        HeaderMatchKind::Regex(v) => (1, v, false),
        HeaderMatchKind::Contains(v) => (2, v, false),
        HeaderMatchKind::NotContains(v) => (2, v, true),
        HeaderMatchKind::Present => (3, "", false),
        HeaderMatchKind::NotPresent => (3, "", true),
    }
}

/// Header conditions by name, then type (exact, regex, contains, present), then value, with the
/// non-inverted condition first; also the order conditions are emitted in.
pub fn header_cmp(a: &HeaderMatch, b: &HeaderMatch) -> Ordering {
    a.name
        .cmp(&b.name)
        .then_with(|| header_key(a).cmp(&header_key(b)))
        .then_with(|| a.ignore_case.cmp(&b.ignore_case))
        .then_with(|| a.treat_missing_as_empty.cmp(&b.treat_missing_as_empty))
}

#[cfg(test)]
mod tests {
    use super::*;
    use contour_dag::{ObjectRef, RouteAction};

    fn r(path: PathMatch, headers: Vec<HeaderMatch>) -> Route {
        Route {
            path,
            headers,
            query_params: vec![],
            action: RouteAction::DirectResponse {
                status: 200,
                body: None,
            },
            source: ObjectRef::default().into(),
            ..Default::default()
        }
    }

    fn h(name: &str, kind: HeaderMatchKind) -> HeaderMatch {
        HeaderMatch {
            name: name.into(),
            kind,
            ignore_case: false,
            treat_missing_as_empty: false,
        }
    }

    fn sorted(mut routes: Vec<Route>) -> Vec<String> {
        routes.sort_by(route_cmp);
        routes.iter().map(|r| r.match_key()).collect()
    }

    #[test]
    fn exact_then_regex_then_prefix_longest_first() {
        let got = sorted(vec![
            r(PathMatch::Prefix("/".into()), vec![]),
            r(PathMatch::Prefix("/api".into()), vec![]),
            r(PathMatch::Regex("/v[0-9]+".into()), vec![]),
            r(PathMatch::Exact("/a".into()), vec![]),
            r(PathMatch::Exact("/b".into()), vec![]),
            r(PathMatch::Prefix("/apx".into()), vec![]),
            r(PathMatch::SegmentPrefix("/api".into()), vec![]),
            r(PathMatch::Regex("/.*".into()), vec![]),
        ]);
        assert_eq!(
            got,
            vec![
                "exact:/b",
                "exact:/a",
                "regex:/v[0-9]+",
                "regex:/.*",
                "prefix:/apx",
                "segment:/api",
                "prefix:/api",
                "prefix:/",
            ]
        );
    }

    #[test]
    fn header_conditions_break_ties() {
        let p = || PathMatch::Prefix("/".into());
        let plain = r(p(), vec![]);
        let one = r(p(), vec![h("x-a", HeaderMatchKind::Present)]);
        let two = r(
            p(),
            vec![
                h("x-a", HeaderMatchKind::Present),
                h("x-b", HeaderMatchKind::Exact("1".into())),
            ],
        );
        let method = r(
            p(),
            vec![h(":method", HeaderMatchKind::Exact("GET".into()))],
        );
        let exact_a = r(p(), vec![h("x-a", HeaderMatchKind::Exact("1".into()))]);
        let got = sorted(vec![
            plain.clone(),
            one.clone(),
            two.clone(),
            method.clone(),
            exact_a.clone(),
        ]);
        let want: Vec<String> = [method, two, exact_a, one, plain]
            .iter()
            .map(|r| r.match_key())
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn header_order_type_then_value_then_invert() {
        let mut hs = [
            h("x", HeaderMatchKind::NotPresent),
            h("x", HeaderMatchKind::Present),
            h("x", HeaderMatchKind::Contains("b".into())),
            h("x", HeaderMatchKind::Regex("a".into())),
            h("x", HeaderMatchKind::NotExact("a".into())),
            h("x", HeaderMatchKind::Exact("a".into())),
            h("a", HeaderMatchKind::Present),
        ];
        hs.sort_by(header_cmp);
        let kinds: Vec<_> = hs
            .iter()
            .map(|h| (h.name.as_str(), h.kind.clone()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("a", HeaderMatchKind::Present),
                ("x", HeaderMatchKind::Exact("a".into())),
                ("x", HeaderMatchKind::NotExact("a".into())),
                ("x", HeaderMatchKind::Regex("a".into())),
                ("x", HeaderMatchKind::Contains("b".into())),
                ("x", HeaderMatchKind::Present),
                ("x", HeaderMatchKind::NotPresent),
            ]
        );
    }
}
