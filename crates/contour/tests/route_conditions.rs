//! HTTPProxy match conditions through real Envoy: every header and query-parameter operator,
//! regex paths, conditions accumulating down includes, wildcard FQDNs, and route order when
//! several routes could match. Each route tags its responses with `x-route` (a route response
//! header policy), so a test sees which route answered.

mod common;

use common::{Env, proxy_yaml};
use contour_testkit::{EchoBackend, Request, service_yaml};

/// A route tagged `tag`, with `conds` (YAML flow list items) forwarding to `app`.
fn route(tag: &str, conds: &str) -> String {
    format!(
        "  - conditions: [{conds}]\n    services: [{{name: app, port: 80}}]\n    responseHeadersPolicy: {{set: [{{name: x-route, value: {tag}}}]}}\n"
    )
}

fn root_spec(fqdn: &str, routes: &[String], extra: &str) -> String {
    format!(
        "  virtualhost: {{fqdn: '{fqdn}'}}\n  routes:\n{}{extra}",
        routes.concat()
    )
}

/// Request headers of a case.
type Headers<'a> = &'a [(&'a str, &'a str)];

async fn tag(env: &Env, host: &str, path: &str, headers: &[(&str, &str)]) -> String {
    let mut req = Request::get(host, path);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    match req.send(env.ports.http).await {
        Ok(r) if r.status == 200 => r.header("x-route").unwrap_or("untagged").to_string(),
        Ok(r) => r.status.to_string(),
        Err(e) => format!("error: {e}"),
    }
}

fn condition_routes() -> Vec<String> {
    vec![
        route(
            "present",
            "{prefix: /present}, {header: {name: x-a, present: true}}",
        ),
        route(
            "notpresent",
            "{prefix: /notpresent}, {header: {name: x-a, notpresent: true}}",
        ),
        route(
            "contains",
            "{prefix: /contains}, {header: {name: x-a, contains: ab}}",
        ),
        route(
            "notcontains",
            "{prefix: /notcontains}, {header: {name: x-a, notcontains: ab}}",
        ),
        route(
            "exact",
            "{prefix: /exact}, {header: {name: x-a, exact: Foo, ignoreCase: true}}",
        ),
        route(
            "notexact",
            "{prefix: /notexact}, {header: {name: x-a, notexact: foo, treatMissingAsEmpty: true}}",
        ),
        route(
            "regex",
            "{prefix: /regex}, {header: {name: x-a, regex: '^v[0-9]+$'}}",
        ),
        route(
            "q-exact",
            "{prefix: /q/exact}, {queryParameter: {name: q, exact: a}}",
        ),
        route(
            "q-prefix",
            "{prefix: /q/prefix}, {queryParameter: {name: q, prefix: ab, ignoreCase: true}}",
        ),
        route(
            "q-suffix",
            "{prefix: /q/suffix}, {queryParameter: {name: q, suffix: yz}}",
        ),
        route(
            "q-regex",
            "{prefix: /q/regex}, {queryParameter: {name: q, regex: '^[0-9]+$'}}",
        ),
        route(
            "q-contains",
            "{prefix: /q/contains}, {queryParameter: {name: q, contains: mid}}",
        ),
        route(
            "q-present",
            "{prefix: /q/present}, {queryParameter: {name: q, present: true}}",
        ),
        route("path-regex", "{regex: '/re/[0-9]+'}"),
    ]
}

#[tokio::test]
async fn header_query_and_regex_conditions() {
    let app = EchoBackend::start("app").await.unwrap();
    let root = proxy_yaml(
        "default",
        "cond",
        &root_spec("cond.example.com", &condition_routes(), ""),
    );
    let env = Env::start(&[
        (
            "svc.yaml",
            service_yaml("default", "app", 80, "http", &[&app]),
        ),
        ("proxy.yaml", root),
    ])
    .await;
    let h = "cond.example.com";
    env.wait_status(h, "/re/1", 200).await;
    let cases: &[(&str, Headers, &str)] = &[
        ("/present", &[("x-a", "1")], "present"),
        ("/present", &[], "404"),
        ("/notpresent", &[], "notpresent"),
        ("/notpresent", &[("x-a", "1")], "404"),
        ("/contains", &[("x-a", "xaby")], "contains"),
        ("/contains", &[("x-a", "xy")], "404"),
        ("/notcontains", &[("x-a", "xy")], "notcontains"),
        ("/notcontains", &[("x-a", "xaby")], "404"),
        ("/exact", &[("x-a", "fOO")], "exact"),
        ("/exact", &[("x-a", "foox")], "404"),
        ("/notexact", &[("x-a", "bar")], "notexact"),
        ("/notexact", &[("x-a", "foo")], "404"),
        // treatMissingAsEmpty: a missing header is "" which is not "foo".
        ("/notexact", &[], "notexact"),
        ("/regex", &[("x-a", "v12")], "regex"),
        ("/regex", &[("x-a", "vx")], "404"),
        ("/q/exact?q=a", &[], "q-exact"),
        ("/q/exact?q=b", &[], "404"),
        ("/q/prefix?q=ABc", &[], "q-prefix"),
        ("/q/suffix?q=xyz", &[], "q-suffix"),
        ("/q/suffix?q=yzx", &[], "404"),
        ("/q/regex?q=123", &[], "q-regex"),
        ("/q/regex?q=12a", &[], "404"),
        ("/q/contains?q=amidb", &[], "q-contains"),
        ("/q/contains?q=ami", &[], "404"),
        ("/q/present?q", &[], "q-present"),
        ("/q/present?r=1", &[], "404"),
        ("/re/42", &[], "path-regex"),
        ("/re/x", &[], "404"),
    ];
    let mut failures = Vec::new();
    for (path, headers, want) in cases {
        let got = tag(&env, h, path, headers).await;
        if got != *want {
            failures.push(format!("{path} {headers:?}: want {want}, got {got}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn includes_accumulate_conditions_order_and_wildcards() {
    let app = EchoBackend::start("app").await.unwrap();
    let routes = vec![
        route("prefix", "{prefix: /order}"),
        route(
            "header",
            "{prefix: /order}, {header: {name: x-pick, present: true}}",
        ),
        route("exact", "{exact: /order/exact}"),
        route("regex", "{regex: '/order/[a-z]+'}"),
        route("longer", "{prefix: /order/ex}"),
    ];
    let include = "  includes:\n  - {name: child, namespace: team, conditions: [{prefix: /inc}, {header: {name: x-team, exact: blue}}]}\n";
    let child = proxy_yaml(
        "team",
        "child",
        &format!(
            "  routes:\n{}",
            route("inc", "{header: {name: x-env, exact: prod}}")
        ),
    );
    let wild = proxy_yaml(
        "default",
        "wild",
        &root_spec("*.wild.example.com", &[route("wild", "{prefix: /}")], ""),
    );
    let files = [
        (
            "svc.yaml",
            [
                service_yaml("default", "app", 80, "http", &[&app]),
                service_yaml("team", "app", 80, "http", &[&app]),
            ]
            .join("---\n"),
        ),
        (
            "root.yaml",
            proxy_yaml(
                "default",
                "root",
                &root_spec("order.example.com", &routes, include),
            ),
        ),
        ("child.yaml", child),
        ("wild.yaml", wild),
    ];
    let env = Env::start(&files.map(|(p, y)| (p, y))).await;
    let h = "order.example.com";
    env.wait_status(h, "/order", 200).await;
    env.wait_status("a.wild.example.com", "/", 200).await;
    let cases: &[(&str, &str, Headers, &str)] = &[
        // Exact before regex before prefix; longer prefixes first; more headers first.
        (h, "/order/exact", &[], "exact"),
        (h, "/order/abc", &[], "regex"),
        (h, "/order/ex1", &[], "longer"),
        (h, "/order/1", &[], "prefix"),
        (h, "/order", &[("x-pick", "1")], "header"),
        // The include's header condition and the child's both apply.
        (h, "/inc", &[("x-team", "blue"), ("x-env", "prod")], "inc"),
        (h, "/inc", &[("x-env", "prod")], "404"),
        (h, "/inc", &[("x-team", "blue")], "404"),
        // A wildcard matches exactly one label.
        ("a.wild.example.com", "/", &[], "wild"),
        ("a.wild.example.com:8080", "/", &[], "wild"),
        ("a.b.wild.example.com", "/", &[], "404"),
        ("wild.example.com", "/", &[], "404"),
    ];
    let mut failures = Vec::new();
    for (host, path, headers, want) in cases {
        let got = tag(&env, host, path, headers).await;
        if got != *want {
            failures.push(format!("{host}{path} {headers:?}: want {want}, got {got}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn invalid_conditions_are_reported_and_do_not_stop_others() {
    let app = EchoBackend::start("app").await.unwrap();
    let bad_headers = proxy_yaml(
        "default",
        "bad",
        &root_spec(
            "bad.example.com",
            &[route(
                "x",
                "{header: {name: x-a, present: true}}, {header: {name: X-A, notpresent: true}}",
            )],
            "",
        ),
    );
    let dup_includes = proxy_yaml(
        "default",
        "dup",
        &root_spec(
            "dup.example.com",
            &[route("ok", "{prefix: /ok}")],
            "  includes:\n  - {name: c, conditions: [{prefix: /x}, {header: {name: a, present: true}}]}\n  - {name: c, conditions: [{header: {name: a, present: true}}, {prefix: /x}]}\n",
        ),
    );
    let c = proxy_yaml(
        "default",
        "c",
        &format!("  routes:\n{}", route("c", "{prefix: /}")),
    );
    let good = proxy_yaml(
        "default",
        "good",
        &root_spec("good.example.com", &[route("good", "{prefix: /}")], ""),
    );
    let env = Env::start(&[
        (
            "svc.yaml",
            service_yaml("default", "app", 80, "http", &[&app]),
        ),
        ("bad.yaml", bad_headers),
        ("dup.yaml", dup_includes),
        ("c.yaml", c),
        ("good.yaml", good),
    ])
    .await;
    env.wait_status("good.example.com", "/", 200).await;
    // The duplicate include is skipped; the first one and the root's own routes still serve.
    env.wait_status("dup.example.com", "/ok", 200).await;
    // (/x + the child's / is the prefix /x/, as upstream joins them.)
    assert_eq!(
        tag(&env, "dup.example.com", "/x/y", &[("a", "1")]).await,
        "c"
    );
    // A route error drops the proxy's routes: nothing to serve on bad.example.com.
    assert_eq!(
        tag(&env, "bad.example.com", "/", &[("x-a", "1")]).await,
        "404"
    );
    let status = env.debug_status().await;
    let errors = |name: &str| {
        status
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .map(|s| s["status"]["conditions"][0]["errors"].clone())
            .unwrap_or_default()
    };
    let bad = errors("bad");
    assert_eq!(bad[0]["type"], "RouteError");
    assert_eq!(bad[0]["reason"], "HeaderMatchConditionsNotValid");
    assert_eq!(
        bad[0]["message"],
        "cannot specify contradictory 'present' and 'notpresent' conditions for the same route and header"
    );
    let dup = errors("dup");
    assert_eq!(dup[0]["type"], "IncludeError");
    assert_eq!(dup[0]["reason"], "DuplicateMatchConditions");
    assert_eq!(
        dup[0]["message"],
        "duplicate conditions defined on an include"
    );
}
