use super::*;
use crate::config::{AccessLogFormat, AccessLogLevel};
use crate::tests::{forward_to, http_dag, route as dag_route, service, vhost};
use envoy_types::pb::envoy::config::route::v3::RouteAction as EnvoyRouteAction;
use rstest::rstest;

/// A route as upstream sends it: with its source metadata.
fn route(r: &contour_dag::Route) -> Route {
    super::route(r, RouteOptions::WITH_METADATA)
}

fn only_config(dag: &Dag) -> RouteConfiguration {
    let mut rcs = route_configurations(dag, RouteOptions::WITH_METADATA, None);
    assert_eq!(rcs.len(), 1);
    rcs.remove(0)
}

fn envoy_route_action(r: &Route) -> &EnvoyRouteAction {
    match &r.action {
        Some(route::Action::Route(a)) => a,
        other => panic!("expected a route action, got {other:?}"),
    }
}

#[test]
fn empty_dag_gives_empty_ingress_http() {
    let rc = only_config(&Dag::default());
    assert_eq!(rc.name, "ingress_http");
    assert!(rc.virtual_hosts.is_empty());
    assert!(rc.ignore_port_in_host_matching);
    assert_eq!(
        rc.request_headers_to_add,
        vec![append_header("x-request-start", "t=%START_TIME(%s.%3f)%")]
    );
    assert_eq!(
        rc.request_headers_to_add[0].append_action,
        HeaderAppendAction::AppendIfExistsOrAdd as i32
    );
}

#[test]
fn vhosts_sorted_by_name_and_empty_ones_dropped() {
    let kuard = service("default", "kuard", 80);
    let fwd = || forward_to(&[(&kuard, 0)]);
    let dag = http_dag(vec![
        vhost(
            "b.example.com",
            vec![dag_route(PathMatch::Prefix("/".into()), fwd())],
        ),
        vhost(
            "a.example.com",
            vec![dag_route(PathMatch::Prefix("/".into()), fwd())],
        ),
        vhost("empty.example.com", vec![]),
    ]);
    let rc = only_config(&dag);
    let names: Vec<_> = rc.virtual_hosts.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, vec!["a.example.com", "b.example.com"]);
    assert_eq!(rc.virtual_hosts[0].domains, vec!["a.example.com"]);
}

#[test]
fn routes_in_upstream_sort_order() {
    let kuard = service("default", "kuard", 80);
    let fwd = || forward_to(&[(&kuard, 0)]);
    let dag = http_dag(vec![vhost(
        "example.com",
        vec![
            dag_route(PathMatch::Prefix("/".into()), fwd()),
            dag_route(PathMatch::Prefix("/longer".into()), fwd()),
            dag_route(PathMatch::Exact("/exact".into()), fwd()),
            dag_route(PathMatch::Regex("/re.*".into()), fwd()),
            dag_route(PathMatch::SegmentPrefix("/longer".into()), fwd()),
        ],
    )]);
    let rc = only_config(&dag);
    use route_match::PathSpecifier as P;
    let got: Vec<_> = rc.virtual_hosts[0]
        .routes
        .iter()
        .map(|r| r.r#match.as_ref().unwrap().path_specifier.clone().unwrap())
        .collect();
    assert_eq!(
        got,
        vec![
            P::Path("/exact".into()),
            P::SafeRegex(safe_regex("^/re.*")),
            P::PathSeparatedPrefix("/longer".into()),
            P::Prefix("/longer".into()),
            P::Prefix("/".into()),
        ]
    );
}

#[rstest]
#[case::prefix(PathMatch::Prefix("/foo/".into()), route_match::PathSpecifier::Prefix("/foo/".into()))]
#[case::segment(PathMatch::SegmentPrefix("/foo".into()), route_match::PathSpecifier::PathSeparatedPrefix("/foo".into()))]
#[case::segment_trailing_slash(PathMatch::SegmentPrefix("/foo/".into()), route_match::PathSpecifier::PathSeparatedPrefix("/foo".into()))]
#[case::segment_root(PathMatch::SegmentPrefix("/".into()), route_match::PathSpecifier::Prefix("/".into()))]
#[case::exact(PathMatch::Exact("/foo".into()), route_match::PathSpecifier::Path("/foo".into()))]
#[case::regex(PathMatch::Regex("/foo.*".into()), route_match::PathSpecifier::SafeRegex(safe_regex("^/foo.*")))]
fn path_specifiers(#[case] path: PathMatch, #[case] want: route_match::PathSpecifier) {
    assert_eq!(path_specifier(&path), want);
}

fn hm(kind: HeaderMatchKind, ignore_case: bool, treat_missing: bool) -> HeaderMatch {
    HeaderMatch {
        name: "x-h".into(),
        kind,
        ignore_case,
        treat_missing_as_empty: treat_missing,
    }
}

#[test]
fn header_matchers() {
    use header_matcher::HeaderMatchSpecifier as S;
    use string_matcher::MatchPattern as M;
    let present = header_matcher(&hm(HeaderMatchKind::Present, false, true));
    assert_eq!(present.header_match_specifier, Some(S::PresentMatch(true)));
    assert!(!present.invert_match);
    assert!(
        !present.treat_missing_header_as_empty,
        "only inverted matches"
    );

    let not_present = header_matcher(&hm(HeaderMatchKind::NotPresent, false, false));
    assert_eq!(
        not_present.header_match_specifier,
        Some(S::PresentMatch(true))
    );
    assert!(not_present.invert_match);

    let not_exact = header_matcher(&hm(HeaderMatchKind::NotExact("v".into()), true, true));
    assert_eq!(
        not_exact.header_match_specifier,
        Some(S::StringMatch(StringMatcher {
            ignore_case: true,
            match_pattern: Some(M::Exact("v".into())),
        }))
    );
    assert!(not_exact.invert_match);
    assert!(not_exact.treat_missing_header_as_empty);

    let contains = header_matcher(&hm(HeaderMatchKind::Contains("v".into()), false, false));
    assert_eq!(
        contains.header_match_specifier,
        Some(S::StringMatch(StringMatcher {
            ignore_case: false,
            match_pattern: Some(M::Contains("v".into())),
        }))
    );

    let regex = header_matcher(&hm(HeaderMatchKind::Regex("v.*".into()), true, false));
    assert_eq!(
        regex.header_match_specifier,
        Some(S::StringMatch(StringMatcher {
            ignore_case: false,
            match_pattern: Some(M::SafeRegex(safe_regex("v.*"))),
        }))
    );
}

#[test]
fn route_metadata_names_the_source_object() {
    let md = route_metadata(&ObjectRef::new("HTTPProxy", "team-a", "web")).unwrap();
    let fields = &md.filter_metadata["envoy.access_loggers.file"].fields;
    let s = |k: &str| fields[k].kind.clone();
    assert_eq!(
        s("io.projectcontour.kind"),
        Some(value::Kind::StringValue("HTTPProxy".into()))
    );
    assert_eq!(
        s("io.projectcontour.namespace"),
        Some(value::Kind::StringValue("team-a".into()))
    );
    assert_eq!(
        s("io.projectcontour.name"),
        Some(value::Kind::StringValue("web".into()))
    );
    assert_eq!(route_metadata(&ObjectRef::default()), None);
    let partial = route_metadata(&ObjectRef::new("Ingress", "", "")).unwrap();
    assert_eq!(
        partial.filter_metadata[ROUTE_METADATA_NAMESPACE]
            .fields
            .len(),
        1
    );
}

#[test]
fn source_metadata_only_when_asked() {
    let kuard = service("default", "kuard", 80);
    let mut r = dag_route(PathMatch::Prefix("/".into()), forward_to(&[(&kuard, 0)]));
    r.source = ObjectRef::new("HTTPProxy", "default", "web").into();
    assert!(route(&r).metadata.is_some());
    let without = RouteOptions {
        source_metadata: false,
    };
    let bare = super::route(&r, without);
    assert_eq!(bare.metadata, None);
    assert_eq!(bare.action, route(&r).action, "only the metadata differs");
}

#[rstest]
#[case::default_format(AccessLogFormat::Envoy(None), AccessLogLevel::Info, false)]
#[case::format_string(
    AccessLogFormat::Envoy(Some("%METADATA(ROUTE:envoy.access_loggers.file:io.projectcontour.name)%\n".into())),
    AccessLogLevel::Info,
    true
)]
#[case::disabled(
    AccessLogFormat::Envoy(Some("%METADATA(ROUTE:envoy.access_loggers.file:io.projectcontour.name)%\n".into())),
    AccessLogLevel::Disabled,
    false
)]
#[case::json_field(
    AccessLogFormat::Json([("kind".to_string(), "%METADATA(ROUTE:envoy.access_loggers.file:io.projectcontour.kind)%".to_string())].into()),
    AccessLogLevel::Error,
    true
)]
#[case::json_without(
    AccessLogFormat::Json([("method".to_string(), "%REQ(:METHOD)%".to_string())].into()),
    AccessLogLevel::Info,
    false
)]
fn source_metadata_follows_the_access_log(
    #[case] format: AccessLogFormat,
    #[case] level: AccessLogLevel,
    #[case] want: bool,
) {
    let cfg = TranslateConfig {
        access_log: crate::config::AccessLogSettings { format, level },
        ..Default::default()
    };
    assert_eq!(RouteOptions::for_config(&cfg).source_metadata, want);
}

#[test]
fn single_cluster_forward_uses_cluster() {
    let kuard = service("default", "kuard", 80);
    let r = route(&dag_route(
        PathMatch::Prefix("/".into()),
        forward_to(&[(&kuard, 0)]),
    ));
    assert_eq!(
        envoy_route_action(&r).cluster_specifier,
        Some(route_action::ClusterSpecifier::Cluster(
            "default/kuard/80/da39a3ee5e".into()
        ))
    );
}

fn weights(r: &Route) -> Vec<(String, u32)> {
    match &envoy_route_action(r).cluster_specifier {
        Some(route_action::ClusterSpecifier::WeightedClusters(wc)) => wc
            .clusters
            .iter()
            .map(|c| (c.name.clone(), c.weight.as_ref().unwrap().value))
            .collect(),
        other => panic!("expected weighted clusters, got {other:?}"),
    }
}

#[test]
fn weighted_clusters_sorted_by_name_with_weights() {
    let kuard = service("default", "kuard", 80);
    let echo = service("default", "echo", 80);
    let r = route(&dag_route(
        PathMatch::Prefix("/".into()),
        forward_to(&[(&kuard, 90), (&echo, 10)]),
    ));
    assert_eq!(
        weights(&r),
        vec![
            ("default/echo/80/da39a3ee5e".to_string(), 10),
            ("default/kuard/80/da39a3ee5e".to_string(), 90),
        ]
    );
}

#[test]
fn all_zero_weights_split_evenly() {
    let kuard = service("default", "kuard", 80);
    let echo = service("default", "echo", 80);
    let r = route(&dag_route(
        PathMatch::Prefix("/".into()),
        forward_to(&[(&kuard, 0), (&echo, 0)]),
    ));
    assert_eq!(
        weights(&r),
        vec![
            ("default/echo/80/da39a3ee5e".to_string(), 1),
            ("default/kuard/80/da39a3ee5e".to_string(), 1),
        ]
    );
}

#[test]
fn some_zero_weights_are_kept_as_zero() {
    let kuard = service("default", "kuard", 80);
    let echo = service("default", "echo", 80);
    let r = route(&dag_route(
        PathMatch::Prefix("/".into()),
        forward_to(&[(&kuard, 0), (&echo, 100)]),
    ));
    assert_eq!(
        weights(&r),
        vec![
            ("default/echo/80/da39a3ee5e".to_string(), 100),
            ("default/kuard/80/da39a3ee5e".to_string(), 0),
        ]
    );
}

#[test]
fn direct_responses() {
    let with_body = route(&dag_route(
        PathMatch::Prefix("/".into()),
        RouteAction::DirectResponse {
            status: 418,
            body: Some("teapot".into()),
        },
    ));
    assert_eq!(
        with_body.action,
        Some(route::Action::DirectResponse(DirectResponseAction {
            status: 418,
            body: Some(DataSource {
                specifier: Some(data_source::Specifier::InlineString("teapot".into())),
                ..Default::default()
            }),
            ..Default::default()
        }))
    );
    let bare = route(&dag_route(
        PathMatch::Prefix("/".into()),
        RouteAction::DirectResponse {
            status: 503,
            body: None,
        },
    ));
    assert_eq!(bare.action, Some(direct_response_action(503, None)));
    let Some(route::Action::DirectResponse(d)) = &bare.action else {
        panic!("direct response");
    };
    assert_eq!(d.status, 503);
    assert_eq!(d.body, None);
}

#[test]
fn forward_without_clusters_answers_503() {
    let r = route(&dag_route(
        PathMatch::Prefix("/".into()),
        RouteAction::Forward(Forward::default()),
    ));
    assert_eq!(r.action, Some(direct_response_action(503, None)));
}
