//! Bad input through real Envoy: unreadable and schema-invalid manifests are logged by file and
//! skipped, an invalid HTTPProxy does not take others down, and bad command lines fail fast.

mod common;

use std::time::{Duration, Instant};

use common::{Env, Ports, backends, contour_bin, proxy_yaml, serve_args, simple_proxy};
use contour_testkit::{EchoBackend, Process, service_yaml};

/// A warning or error line of the contour log that names `file`.
fn names_file(line: &str, file: &str) -> bool {
    (line.contains("WARN") || line.contains("ERROR")) && line.contains(file)
}

#[tokio::test]
async fn malformed_yaml_is_logged_by_file_and_the_rest_is_served() {
    let ([_a, _b], services) = backends(["a", "b"]).await;
    let broken = "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: broken, namespace: default\nspec:\n  virtualhost: [fqdn: broken.example.com\n";
    let env = Env::start(&[
        ("svc.yaml", services),
        ("good-a.yaml", simple_proxy("good-a", "a.example.com", "a")),
        ("broken-syntax.yaml", broken.to_string()),
        ("good-b.yaml", simple_proxy("good-b", "b.example.com", "b")),
    ])
    .await;
    env.wait_backend("a.example.com", "/", "a").await;
    assert_eq!(env.who("b.example.com", "/").await, "b");
    assert_eq!(env.who("broken.example.com", "/").await, "404");
    let line = env
        .wait_log_line("a warning naming broken-syntax.yaml", |l| {
            names_file(l, "broken-syntax.yaml")
        })
        .await;
    println!("logged: {line}");

    // Breaking a file later is also logged, and that file's last good objects stay served.
    env.dir
        .write("good-b.yaml", "kind: HTTPProxy\nmetadata: {name: good-b\n")
        .unwrap();
    env.wait_log_line("a warning naming good-b.yaml", |l| {
        names_file(l, "good-b.yaml")
    })
    .await;
    assert_eq!(env.who("b.example.com", "/").await, "b");
    assert_eq!(env.who("a.example.com", "/").await, "a");
}

#[tokio::test]
async fn schema_invalid_documents_are_logged_by_file_and_the_rest_is_served() {
    let a = EchoBackend::start("a").await.unwrap();
    let redirect_305 = proxy_yaml(
        "default",
        "redirect",
        r#"  virtualhost: {fqdn: redirect.example.com}
  routes:
  - requestRedirectPolicy: {statusCode: 305}
"#,
    );
    let bad_fqdn = proxy_yaml(
        "default",
        "badfqdn",
        r#"  virtualhost: {fqdn: "Bad_Host!.example.com"}
  routes:
  - services: [{name: a, port: 80}]
"#,
    );
    // The invalid document shares its file with a good one, which must still be served.
    let mixed = [
        bad_fqdn,
        simple_proxy("neighbour", "neighbour.example.com", "a"),
    ]
    .join("---\n");
    let env = Env::start(&[
        ("svc.yaml", service_yaml("default", "a", 80, "http", &[&a])),
        ("good.yaml", simple_proxy("good", "good.example.com", "a")),
        ("redirect-305.yaml", redirect_305),
        ("bad-fqdn.yaml", mixed),
    ])
    .await;
    env.wait_backend("good.example.com", "/", "a").await;
    assert_eq!(env.who("neighbour.example.com", "/").await, "a");

    let line = env
        .wait_log_line("a warning naming redirect-305.yaml", |l| {
            names_file(l, "redirect-305.yaml")
        })
        .await;
    println!("logged: {line}");
    let line = env
        .wait_log_line("a warning naming bad-fqdn.yaml", |l| {
            names_file(l, "bad-fqdn.yaml")
        })
        .await;
    println!("logged: {line}");
    // Rejected objects are not served at all.
    let r = env.get("redirect.example.com", "/").await.unwrap();
    assert_eq!(r.status, 404, "redirect.example.com answered {}", r.status);
    assert_ne!(env.who("Bad_Host!.example.com", "/").await, "a");
}

#[tokio::test]
async fn invalid_proxy_does_not_stop_the_others() {
    let a = EchoBackend::start("a").await.unwrap();
    let env = Env::start(&[
        ("svc.yaml", service_yaml("default", "a", 80, "http", &[&a])),
        ("ok.yaml", simple_proxy("ok", "ok.example.com", "a")),
        (
            "missing.yaml",
            simple_proxy("missing", "missing.example.com", "nosuch"),
        ),
    ])
    .await;
    env.wait_backend("ok.example.com", "/", "a").await;
    env.wait_status("missing.example.com", "/", 503).await;
    assert_eq!(env.who("ok.example.com", "/").await, "a");

    let status = env.debug_status().await;
    let find = |name: &str| {
        status
            .as_array()
            .expect("status list")
            .iter()
            .find(|s| s["namespace"] == "default" && s["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no status for default/{name}: {status}"))
    };
    let missing = find("missing");
    assert_eq!(missing["status"]["currentStatus"], "invalid", "{missing}");
    let cond = &missing["status"]["conditions"][0];
    assert_eq!(cond["status"], "False", "{missing}");
    let reasons: Vec<&str> = cond["errors"]
        .as_array()
        .map(|errs| errs.iter().filter_map(|e| e["reason"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        reasons.contains(&"ServiceUnresolvedReference"),
        "reasons {reasons:?} in {missing}"
    );
    assert_eq!(find("ok")["status"]["currentStatus"], "valid");
}

/// Runs `contour` with `args`; it must exit non-zero within a few seconds. Returns its output.
async fn must_fail_fast(args: Vec<String>) -> String {
    let started = Instant::now();
    let mut p = Process::spawn(contour_bin(), &args, &[]).unwrap();
    let status = p
        .wait_exit(Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("contour {args:?} did not exit: {e}\n{}", p.log()));
    let out = p.log();
    assert!(!status.success(), "contour {args:?} succeeded:\n{out}");
    println!(
        "contour exited ({status}) after {} ms: {}",
        started.elapsed().as_millis(),
        out.trim()
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    out
}

#[tokio::test]
async fn bad_flag_exits_non_zero_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = serve_args(dir.path(), &Ports::fresh());
    let i = args.iter().position(|a| a == "--xds-port").unwrap();
    args[i + 1] = "notanumber".into();
    let out = must_fail_fast(args).await;
    assert!(out.contains("--xds-port"), "{out}");
    assert!(out.contains("notanumber"), "{out}");
}

#[tokio::test]
async fn missing_manifests_dir_exits_non_zero_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("does-not-exist");
    let out = must_fail_fast(serve_args(&missing, &Ports::fresh())).await;
    assert!(
        out.contains(&missing.display().to_string()),
        "the message does not name {}: {out}",
        missing.display()
    );
}
