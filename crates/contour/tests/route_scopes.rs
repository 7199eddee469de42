//! `contour serve --http-route-scopes N` through real Envoy: the plain HTTP listener's hosts
//! spread over N route configurations still match requests exactly as one `ingress_http` does
//! (any case, any port, wildcard FQDNs, an Ingress without a host, a scope header sent by the
//! client), the scope header never reaches a backend, and a route change re-sends only its
//! host's scope.

mod common;

use std::collections::BTreeMap;

use common::{Env, Mode, backends, ingress_yaml, simple_proxy};
use contour_envoy::scopes::{SCOPE_HEADER, scope_of_host, scope_route_config_name};
use contour_testkit::Request;

const SCOPES: u16 = 8;
const HOSTS: usize = 24;

fn host(i: usize) -> String {
    format!("h{i}.example.com")
}

fn backend_of(i: usize) -> &'static str {
    if i.is_multiple_of(2) { "a" } else { "b" }
}

fn proxy_file(i: usize, to: &str) -> (String, String) {
    (
        format!("p{i}.yaml"),
        simple_proxy(&format!("p{i}"), &host(i), to),
    )
}

async fn cluster() -> (Vec<contour_testkit::EchoBackend>, Vec<(String, String)>) {
    let (started, services) = backends(["a", "b", "wild", "any"]).await;
    let mut files: Vec<(String, String)> =
        (0..HOSTS).map(|i| proxy_file(i, backend_of(i))).collect();
    files.push((
        "wild.yaml".into(),
        simple_proxy("wild", "'*.wild.example.com'", "wild"),
    ));
    let catch_all = ingress_yaml(
        "any",
        "  defaultBackend:\n    service: {name: any, port: {number: 80}}\n",
    );
    files.push(("any.yaml".into(), catch_all));
    files.push(("svc.yaml".into(), services));
    (started.into(), files)
}

async fn start(mode: Mode, extra: &[String]) -> (Vec<contour_testkit::EchoBackend>, Env) {
    let (started, files) = cluster().await;
    let files: Vec<(&str, String)> = files.iter().map(|(p, y)| (p.as_str(), y.clone())).collect();
    let env = Env::start_mode_with_args(&files, mode, extra).await;
    env.wait_backend(&host(HOSTS - 1), "/", backend_of(HOSTS - 1))
        .await;
    (started, env)
}

fn scoped() -> Vec<String> {
    vec!["--http-route-scopes".into(), SCOPES.to_string()]
}

/// The status and the backend that answered. Through scopes, the backend never sees the scope
/// header (one ingress_http passes on what the client sent).
async fn answer(env: &Env, host: &str, scope_header: Option<&str>, scoped: bool) -> (u16, String) {
    let mut req = Request::get(host, "/");
    if let Some(v) = scope_header {
        req = req.header(SCOPE_HEADER, v);
    }
    let resp = req.send(env.ports.http).await.unwrap();
    let Ok(echo) = resp.echo() else {
        return (resp.status, String::new());
    };
    assert!(
        !scoped || !echo.headers.contains_key(SCOPE_HEADER),
        "{host}: the scope header is removed before forwarding: {:?}",
        echo.headers
    );
    (resp.status, echo.backend)
}

/// Every request host of the test, with the scope header a client may send.
fn requests() -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for i in 0..HOSTS {
        out.push((host(i), None));
        out.push((host(i).to_uppercase(), None));
        out.push((format!("{}:8080", host(i)), None));
        let other = (scope_of_host(&host(i), SCOPES) + 1) % SCOPES;
        out.push((host(i), Some(other.to_string())));
    }
    for other in [
        "x.wild.example.com",
        "X.Wild.Example.com",
        "x.wild.example.com:81",
        "deep.er.wild.example.com",
        "wild.example.com",
        "unknown.example.org",
        "h99.example.com",
        "127.0.0.1",
    ] {
        out.push((other.to_string(), None));
    }
    out
}

async fn hosts_match_as_in_one_table(mode: Mode) {
    let (_backends, env) = start(mode, &scoped()).await;
    // The hosts land in several scopes, so this checks the script's hash against contour's.
    let used: std::collections::BTreeSet<u16> = (0..HOSTS)
        .map(|i| scope_of_host(&host(i), SCOPES))
        .collect();
    assert!(used.len() >= 4, "hosts spread over scopes: {used:?}");
    let mut scoped = Vec::new();
    for (h, header) in requests() {
        scoped.push(answer(&env, &h, header.as_deref(), true).await);
    }
    drop(env);
    let (_backends, env) = start(mode, &[]).await;
    for ((h, header), got) in requests().into_iter().zip(scoped) {
        let want = answer(&env, &h, header.as_deref(), false).await;
        assert_eq!(
            got, want,
            "{h} (scope header {header:?}): scoped vs one ingress_http"
        );
    }
    // And what that is: each host its backend, the wildcard its own, the rest the catch-all.
    for i in 0..HOSTS {
        let want = (200, backend_of(i).to_string());
        assert_eq!(answer(&env, &host(i), None, false).await, want);
    }
    let wild = answer(&env, "x.wild.example.com", None, false).await;
    assert_eq!(wild, (200, "wild".into()));
    let other = answer(&env, "unknown.example.org", None, false).await;
    assert_eq!(other, (200, "any".into()));
}

#[tokio::test]
async fn hosts_match_through_scopes_as_in_one_table_ads() {
    hosts_match_as_in_one_table(Mode::Ads).await;
}

#[tokio::test]
async fn hosts_match_through_scopes_as_in_one_table_per_type_streams() {
    hosts_match_as_in_one_table(Mode::Grpc).await;
}

/// With per-type streams Envoy holds one RDS stream per scope: a route change answers on one
/// of them, the changed host's scope, and the other scopes' hosts are untouched.
#[tokio::test]
async fn a_route_change_sends_one_scope() {
    let (_backends, env) = start(Mode::Grpc, &scoped()).await;
    env.wait_envoy_stat("listener_manager.total_listeners_warming", 0)
        .await;
    let routes = |totals: BTreeMap<String, (u64, u64)>| totals["RouteConfiguration"].0;
    let before = (routes(env.xds_quiet().await), rds_versions(&env).await);
    let (path, yaml) = proxy_file(0, "b");
    env.dir.write(&path, &yaml).unwrap();
    env.wait_backend(&host(0), "/", "b").await;
    let after = (routes(env.xds_quiet().await), rds_versions(&env).await);
    assert_eq!(after.0 - before.0, 1, "one route configuration re-sent");
    let changed: Vec<&String> = after
        .1
        .iter()
        .filter(|(name, v)| before.1.get(*name) != Some(v))
        .map(|(name, _)| name)
        .collect();
    let scope = scope_route_config_name(scope_of_host(&host(0), SCOPES));
    assert_eq!(
        changed,
        vec![&scope],
        "only the host's scope changed in Envoy"
    );
    assert_eq!(
        after.1.len(),
        usize::from(SCOPES),
        "Envoy holds every scope"
    );
    for i in 1..HOSTS {
        let want = (200, backend_of(i).to_string());
        assert_eq!(answer(&env, &host(i), None, true).await, want);
    }
}

/// Route configuration name → version in Envoy's config dump.
async fn rds_versions(env: &Env) -> BTreeMap<String, String> {
    let dump = env
        .envoy
        .config_dump("?resource=dynamic_route_configs")
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for rc in dump["configs"].as_array().into_iter().flatten() {
        let name = rc["route_config"]["name"].as_str().unwrap_or_default();
        let version = rc["version_info"].as_str().unwrap_or_default();
        out.insert(name.to_string(), version.to_string());
    }
    out
}
