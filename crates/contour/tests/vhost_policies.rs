//! Virtual-host and route policies through real Envoy: CORS, IP allow/deny filters, local rate
//! limits and cookie rewriting (with hostile values that must stay data).

mod common;

use common::{CONVERGE, Env, proxy_yaml};
use contour_testkit::certs::{TestCa, tls_secret_yaml};
use contour_testkit::{
    EchoBackend, RESPONSE_HEADER_REQUEST, Request, Response, TlsRequest, service_yaml,
    wait_for_response,
};
use hyper::Method;

async fn env_with(backend: &EchoBackend, proxies: &[String]) -> Env {
    let mut files = vec![(
        "svc.yaml",
        service_yaml("default", "app", 80, "http", &[backend]),
    )];
    for (i, p) in proxies.iter().enumerate() {
        let name: &'static str = Box::leak(format!("proxy{i}.yaml").into_boxed_str());
        files.push((name, p.clone()));
    }
    Env::start(&files).await
}

async fn send(env: &Env, req: Request) -> Response {
    req.send(env.ports.http)
        .await
        .expect("request through Envoy")
}

/// Waits until `req` is answered with `status` (polling with a deadline).
async fn wait(env: &Env, req: &Request, status: u16) -> Response {
    let what = format!("{} {}{} to answer {status}", req.method, req.host, req.path);
    wait_for_response(env.ports.http, req, CONVERGE, &what, |r| r.status == status)
        .await
        .unwrap_or_else(|e| panic!("{e}\ncontour log:\n{}", env.contour.log_tail(40)))
}

#[tokio::test]
async fn cors_preflight_and_simple_requests() {
    let app = EchoBackend::start("app").await.unwrap();
    let root = proxy_yaml(
        "default",
        "cors",
        r#"  virtualhost:
    fqdn: cors.example.com
    corsPolicy:
      allowCredentials: true
      allowOrigin: ["https://app.example.com", "https://.*\\.trusted\\.org"]
      allowMethods: [GET, PUT]
      allowHeaders: [x-custom]
      exposeHeaders: [x-exposed]
      maxAge: 10m
      allowPrivateNetwork: true
  routes:
  - services: [{name: app, port: 80}]
"#,
    );
    let public = proxy_yaml(
        "default",
        "public",
        r#"  virtualhost:
    fqdn: public.example.com
    corsPolicy: {allowOrigin: ["*"], allowMethods: [GET]}
  routes:
  - services: [{name: app, port: 80}]
"#,
    );
    let env = env_with(&app, &[root, public]).await;
    wait(&env, &Request::get("cors.example.com", "/"), 200).await;
    wait(&env, &Request::get("public.example.com", "/"), 200).await;

    // Private network access: a preflight asking for it gets the grant only where the policy
    // sets allowPrivateNetwork.
    let pna = |host: &str| {
        Request::new(Method::OPTIONS, host, "/api")
            .header("origin", "https://app.example.com")
            .header("access-control-request-method", "GET")
            .header("access-control-request-private-network", "true")
    };
    let r = send(&env, pna("cors.example.com")).await;
    assert_eq!(
        r.header("access-control-allow-private-network"),
        Some("true"),
        "{r:?}"
    );
    let r = send(&env, pna("public.example.com")).await;
    // A CORS preflight answered by Envoy (which echoes the origin), without the grant.
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example.com"),
        "{r:?}"
    );
    assert_eq!(r.header("access-control-allow-private-network"), None);

    let preflight = |origin: &str| {
        Request::new(Method::OPTIONS, "cors.example.com", "/api")
            .header("origin", origin)
            .header("access-control-request-method", "PUT")
    };
    let r = send(&env, preflight("https://app.example.com")).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(r.header("access-control-allow-methods"), Some("GET,PUT"));
    assert_eq!(r.header("access-control-allow-headers"), Some("x-custom"));
    assert_eq!(r.header("access-control-max-age"), Some("600"));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert!(r.backend().is_none(), "Envoy answers preflights itself");

    let regex_origin = send(&env, preflight("https://api.trusted.org")).await;
    assert_eq!(
        regex_origin.header("access-control-allow-origin"),
        Some("https://api.trusted.org")
    );
    let stranger = send(&env, preflight("https://evil.example.net")).await;
    assert_eq!(stranger.header("access-control-allow-origin"), None);

    let simple =
        Request::get("cors.example.com", "/data").header("origin", "https://app.example.com");
    let r = send(&env, simple).await;
    assert_eq!(r.backend(), Some("app"));
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(r.header("access-control-expose-headers"), Some("x-exposed"));
    let foreign =
        Request::get("cors.example.com", "/data").header("origin", "https://evil.example.net");
    let r = send(&env, foreign).await;
    assert_eq!(
        r.backend(),
        Some("app"),
        "simple requests still reach the backend"
    );
    assert_eq!(r.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn ip_allow_and_deny_filters_with_route_override() {
    let app = EchoBackend::start("app").await.unwrap();
    // The client is 127.0.0.1. `deny` denies it on the host, except on /open whose own allow
    // list replaces the host's filter.
    let deny = proxy_yaml(
        "default",
        "deny",
        r#"  virtualhost:
    fqdn: deny.example.com
    ipDenyPolicy: [{source: Peer, cidr: 127.0.0.0/8}]
  routes:
  - services: [{name: app, port: 80}]
  - conditions: [{prefix: /open}]
    ipAllowPolicy: [{source: Peer, cidr: 127.0.0.1}]
    services: [{name: app, port: 80}]
"#,
    );
    // Only 10.0.0.0/8 may pass, judged by the client address: an untrusted X-Forwarded-For
    // (no trusted hops are configured) does not let the client in.
    let allow = proxy_yaml(
        "default",
        "allow",
        r#"  virtualhost:
    fqdn: allow.example.com
    ipAllowPolicy: [{source: Remote, cidr: 10.0.0.0/8}]
  routes:
  - services: [{name: app, port: 80}]
  - conditions: [{prefix: /local}]
    ipAllowPolicy: [{source: Remote, cidr: "::1"}, {source: Remote, cidr: 127.0.0.1/32}]
    services: [{name: app, port: 80}]
"#,
    );
    let env = env_with(&app, &[deny, allow]).await;
    wait(&env, &Request::get("deny.example.com", "/open"), 200).await;
    assert_eq!(env.who("deny.example.com", "/").await, "403");
    assert_eq!(env.who("deny.example.com", "/other").await, "403");
    assert_eq!(env.who("deny.example.com", "/open").await, "app");
    assert_eq!(env.who("deny.example.com", "/open/sub").await, "app");

    wait(&env, &Request::get("allow.example.com", "/local"), 200).await;
    assert_eq!(env.who("allow.example.com", "/").await, "403");
    let spoofed = Request::get("allow.example.com", "/").header("x-forwarded-for", "10.1.2.3");
    assert_eq!(send(&env, spoofed).await.status, 403);
}

#[tokio::test]
async fn local_rate_limits_on_host_and_route() {
    let app = EchoBackend::start("app").await.unwrap();
    // Per hour, so no token is refilled during the test.
    let root = proxy_yaml(
        "default",
        "limited",
        r#"  virtualhost:
    fqdn: limited.example.com
    rateLimitPolicy:
      local: {requests: 2, unit: hour, burst: 1}
  routes:
  - services: [{name: app, port: 80}]
  - conditions: [{prefix: /strict}]
    services: [{name: app, port: 80}]
    rateLimitPolicy:
      local:
        requests: 1
        unit: hour
        responseStatusCode: 503
        responseHeadersToAdd: [{name: x-limited-by, value: contour}, {name: x-pct, value: 100%}]
"#,
    );
    let env = env_with(&app, &[root]).await;
    // The first 200 takes one token of the host's bucket (requests answered before the host
    // existed did not reach it).
    wait(&env, &Request::get("limited.example.com", "/"), 200).await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            send(&env, Request::get("limited.example.com", "/"))
                .await
                .status,
        );
    }
    assert_eq!(
        statuses,
        [200, 200, 429],
        "requests + burst = 3 tokens, then 429"
    );

    // The route's own bucket replaces the host's: one request, then its status and headers.
    let strict = Request::get("limited.example.com", "/strict");
    let first = send(&env, strict.clone()).await;
    assert_eq!(first.backend(), Some("app"));
    let limited = send(&env, strict).await;
    assert_eq!(limited.status, 503);
    assert_eq!(limited.header("x-limited-by"), Some("contour"));
    assert_eq!(
        limited.header("x-pct"),
        Some("100%"),
        "a user's % is escaped, not a variable"
    );
}

/// A cookie name and path full of Lua syntax: the schema allows them, and they must come out
/// of Envoy as literal text, never run.
const HOSTILE_NAME: &str = "evil'..os.exit..'--end";
const HOSTILE_PATH: &str = r#"/"]] end os.exit(1) --[[ 'x'"#;

#[tokio::test]
async fn cookie_rewrites_on_route_and_service_with_hostile_values() {
    let app = EchoBackend::start("app").await.unwrap();
    let root = proxy_yaml(
        "default",
        "cookies",
        &format!(
            r#"  virtualhost: {{fqdn: cookies.example.com}}
  routes:
  - conditions: [{{prefix: /}}]
    cookieRewritePolicies:
    - name: sid
      pathRewrite: {{value: /app}}
      domainRewrite: {{value: cookies.example.com}}
      secure: true
      sameSite: Lax
    - name: {name}
      pathRewrite: {{value: '{path}'}}
    services:
    - name: app
      port: 80
      cookieRewritePolicies:
      - name: sid
        sameSite: Strict
      - name: plain
        secure: false
"#,
            name = serde_json::to_string(HOSTILE_NAME).unwrap(),
            path = HOSTILE_PATH.replace('\'', "''"),
        ),
    );
    let env = env_with(&app, &[root]).await;
    let set = |req: Request, cookie: &str| {
        req.header(RESPONSE_HEADER_REQUEST, &format!("set-cookie: {cookie}"))
    };
    let req = set(
        set(
            set(
                set(
                    Request::get("cookies.example.com", "/"),
                    "sid=abc; Path=/old; Domain=old.example.com; HttpOnly",
                ),
                &format!("{HOSTILE_NAME}=v; Path=/"),
            ),
            "plain=1; Secure; HttpOnly",
        ),
        "untouched=2; Path=/x",
    );
    let r = wait(&env, &req, 200).await;
    let cookies: Vec<&str> = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        cookies,
        [
            "sid=abc; Path=/app; Domain=cookies.example.com; HttpOnly; SameSite=Strict; Secure",
            &format!("{HOSTILE_NAME}=v; Path={HOSTILE_PATH}"),
            "plain=1; HttpOnly",
            "untouched=2; Path=/x",
        ]
    );
    // Envoy is still serving, and the script logged no error.
    assert_eq!(env.who("cookies.example.com", "/again").await, "app");
    assert!(
        !env.envoy.log().contains("script log: "),
        "{}",
        env.envoy.log()
    );
}

/// On a TLS host the policies apply to the secure virtual host too, and the cookie rewrite
/// script (selected per route) lives beside the fixed 421 script of the HTTPS filter chain
/// without disturbing it.
#[tokio::test]
async fn policies_on_tls_hosts_and_next_to_the_421_filter() {
    let ca = TestCa::new("policies-ca");
    let (leaf_a, leaf_b) = (
        ca.leaf("a.example.com", &["a.example.com"]),
        ca.leaf("b.example.com", &["b.example.com"]),
    );
    let app = EchoBackend::start("app").await.unwrap();
    let tls_root = |name: &str, fqdn: &str| {
        proxy_yaml(
            "default",
            name,
            &format!(
                r#"  virtualhost:
    fqdn: {fqdn}
    tls: {{secretName: {name}-cert}}
    ipDenyPolicy: [{{source: Peer, cidr: 127.0.0.1}}]
  routes:
  - conditions: [{{prefix: /}}]
    cookieRewritePolicies: [{{name: sid, pathRewrite: {{value: /tls}}}}]
    ipAllowPolicy: [{{source: Peer, cidr: 127.0.0.0/8}}]
    services: [{{name: app, port: 80}}]
  - conditions: [{{prefix: /denied}}]
    services: [{{name: app, port: 80}}]
"#
            ),
        )
    };
    let files = [
        (
            "svc.yaml",
            service_yaml("default", "app", 80, "http", &[&app]),
        ),
        (
            "secrets.yaml",
            [
                tls_secret_yaml("default", "a-cert", &leaf_a),
                tls_secret_yaml("default", "b-cert", &leaf_b),
            ]
            .join("---\n"),
        ),
        ("a.yaml", tls_root("a", "a.example.com")),
        ("b.yaml", tls_root("b", "b.example.com")),
    ];
    let env = Env::start(&files).await;
    let with_cookie =
        |req: TlsRequest| req.header(RESPONSE_HEADER_REQUEST, "set-cookie: sid=1; Path=/old");
    let r = env
        .wait_tls_backend(&with_cookie(TlsRequest::new("a.example.com", "/")), "app")
        .await;
    assert_eq!(r.response.header("set-cookie"), Some("sid=1; Path=/tls"));
    let https = env.ports.https;
    // The host's deny list applies on the secure host; the route's allow list overrides it.
    let denied = TlsRequest::new("a.example.com", "/denied")
        .send(https)
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
    // 421 still fires on a route that selects the cookie script.
    let misdirected = with_cookie(TlsRequest::new("b.example.com", "/").sni(Some("a.example.com")));
    let r = misdirected.send(https).await.unwrap();
    assert_eq!(r.status(), 421, "{}", r.response.text());
    assert_eq!(r.response.header("set-cookie"), None);
}
