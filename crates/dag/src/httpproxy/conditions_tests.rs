use super::*;
use rstest::rstest;

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

fn regex(p: &str) -> MatchCondition {
    MatchCondition {
        regex: Some(p.into()),
        ..Default::default()
    }
}

fn header(yaml: &str) -> MatchCondition {
    MatchCondition {
        header: Some(serde_norway::from_str(yaml).unwrap()),
        ..Default::default()
    }
}

fn query(yaml: &str) -> MatchCondition {
    MatchCondition {
        query_parameter: Some(serde_norway::from_str(yaml).unwrap()),
        ..Default::default()
    }
}

#[test]
fn merge_follows_upstream() {
    let (a, b, slash, e, r) = (
        prefix("/api"),
        prefix("/v1"),
        prefix("/"),
        exact("/x"),
        regex("/re.*"),
    );
    assert_eq!(merge_path(&[]), PathMatch::Prefix("/".into()));
    assert_eq!(merge_path(&[&a, &b]), PathMatch::Prefix("/api/v1".into()));
    assert_eq!(merge_path(&[&a, &slash]), PathMatch::Prefix("/api/".into()));
    assert_eq!(merge_path(&[&slash, &slash]), PathMatch::Prefix("/".into()));
    assert_eq!(merge_path(&[&a, &e]), PathMatch::Exact("/api/x".into()));
    assert_eq!(merge_path(&[&a, &r]), PathMatch::Regex("/api/re.*".into()));
    // A header condition last does not turn an exact path into a prefix... but upstream looks
    // at the last condition only, so it does.
    let h = header("{name: x, present: true}");
    assert_eq!(merge_path(&[&e, &h]), PathMatch::Prefix("/x".into()));
}

#[rstest]
#[case::ok(vec![prefix("/a")], None)]
#[case::empty_prefix_ignored(vec![prefix("")], None)]
#[case::no_slash(vec![prefix("a")], Some("prefix conditions must start with /, a was supplied"))]
#[case::exact_no_slash(vec![exact("a")], Some("exact conditions must start with /, a was supplied"))]
#[case::regex_no_slash(vec![regex("a.*")], Some("regex conditions must start with /, a.* was supplied"))]
#[case::two(vec![prefix("/a"), exact("/b")], Some("more than one prefix, exact or regex is not allowed in a condition block"))]
fn path_validation(#[case] conds: Vec<MatchCondition>, #[case] want: Option<&str>) {
    assert_eq!(validate_path(&conds).err().as_deref(), want);
}

/// Upstream puts Go's `regexp` error in the message.
#[rstest]
#[case::bracket(
    "/[a",
    "supplied regex: /[a invalid. error: error parsing regexp: missing closing ]: `[a`"
)]
#[case::paren(
    "/(a",
    "supplied regex: /(a invalid. error: error parsing regexp: missing closing ): `/(a`"
)]
#[case::nested_repetition(
    "/a**",
    "supplied regex: /a** invalid. error: error parsing regexp: invalid nested repetition operator: `**`"
)]
fn bad_path_regex_is_reported(#[case] re: &str, #[case] want: &str) {
    assert_eq!(validate_path(&[regex(re)]).unwrap_err(), want);
}

#[test]
fn include_paths_are_prefixes_only() {
    assert_eq!(
        validate_include_path(&[exact("/a")]).unwrap_err(),
        "exact conditions are not allowed in includes block"
    );
    assert_eq!(
        validate_include_path(&[regex("/a")]).unwrap_err(),
        "regex conditions are not allowed in includes block"
    );
    assert!(validate_include_path(&[prefix("/a"), header("{name: x, present: true}")]).is_ok());
}

#[rstest]
#[case::present_notpresent(&["{name: X-A, present: true}", "{name: x-a, notpresent: true}"],
    Some("cannot specify contradictory 'present' and 'notpresent' conditions for the same route and header"))]
#[case::duplicate_exact(&["{name: x, exact: a}", "{name: X, exact: b}"],
    Some("cannot specify duplicate header 'exact match' conditions in the same route"))]
#[case::exact_notexact(&["{name: x, notexact: a}", "{name: x, exact: a}"],
    Some("cannot specify contradictory 'exact' and 'notexact' conditions for the same route and header"))]
#[case::contains_notcontains(&["{name: x, contains: a}", "{name: x, notcontains: a}"],
    Some("cannot specify contradictory 'contains' and 'notcontains' conditions for the same route and header"))]
#[case::bad_regex(&["{name: x, regex: '[a'}"],
    Some("invalid regular expression specified for 'regex' condition"))]
#[case::different_values(&["{name: x, contains: a}", "{name: x, notcontains: b}"], None)]
#[case::explicit_false_is_unset(&["{name: x, present: true, ignoreCase: false}", "{name: x, notpresent: true}"],
    Some("cannot specify contradictory 'present' and 'notpresent' conditions for the same route and header"))]
fn header_validation(#[case] yaml: &[&str], #[case] want: Option<&str>) {
    let conds: Vec<MatchCondition> = yaml.iter().map(|y| header(y)).collect();
    let refs: Vec<&MatchCondition> = conds.iter().collect();
    assert_eq!(validate_headers(&refs).err(), want);
}

#[rstest]
#[case::none(&["{name: q}"], Some("must specify at least one query parameter condition"))]
#[case::two(&["{name: q, exact: a, prefix: b}"], Some("cannot specify more than one condition in the same match condition branch"))]
#[case::dup_exact(&["{name: q, exact: a}", "{name: Q, exact: b}"], Some("cannot specify duplicate query parameter 'exact match' conditions in the same route"))]
#[case::bad_regex(&["{name: q, regex: '(a'}"], Some("invalid regular expression specified for 'regex' condition"))]
#[case::ok(&["{name: q, present: true}", "{name: r, suffix: x, ignoreCase: true}"], None)]
fn query_validation(#[case] yaml: &[&str], #[case] want: Option<&str>) {
    let conds: Vec<MatchCondition> = yaml.iter().map(|y| query(y)).collect();
    let refs: Vec<&MatchCondition> = conds.iter().collect();
    assert_eq!(validate_query(&refs).err(), want);
}

#[test]
fn header_and_query_conversion() {
    let conds = [
        header("{name: a, notpresent: true}"),
        header("{name: b, notexact: v, ignoreCase: true, treatMissingAsEmpty: true}"),
        header("{name: c, regex: 'x.*', ignoreCase: true}"),
        header("{name: d, contains: v, treatMissingAsEmpty: true}"),
        query("{name: q, present: true, ignoreCase: true}"),
        query("{name: r, suffix: s, ignoreCase: true}"),
    ];
    let refs: Vec<&MatchCondition> = conds.iter().collect();
    let h = merge_headers(&refs);
    assert_eq!(h[0].kind, HeaderMatchKind::NotPresent);
    assert!(h[1].ignore_case && h[1].treat_missing_as_empty);
    // ignoreCase has no effect on a regex; treatMissingAsEmpty only on negative matches.
    assert!(!h[2].ignore_case);
    assert!(!h[3].treat_missing_as_empty);
    let q = merge_query(&refs);
    assert_eq!(
        (q[0].kind.clone(), q[0].ignore_case),
        (QueryMatchKind::Present, false)
    );
    assert_eq!(
        (q[1].kind.clone(), q[1].ignore_case),
        (QueryMatchKind::Suffix("s".into()), true)
    );
}

#[test]
fn include_identity_ignores_lone_slash_and_order() {
    assert_eq!(include_identity(&[]), None);
    assert_eq!(include_identity(&[prefix("/")]), None);
    let a = include_identity(&[
        prefix("/a"),
        header("{name: x, present: true}"),
        header("{name: y, exact: v}"),
    ]);
    let b = include_identity(&[
        header("{name: y, exact: v}"),
        prefix("/a"),
        header("{name: x, present: true}"),
    ]);
    assert!(a.is_some());
    assert_eq!(a, b);
    assert_ne!(a, include_identity(&[prefix("/a")]));
}
