use std::io::Write;

use clap::Parser;

use super::*;
use crate::cli::{Cli, Command};

/// `contour serve` args as if typed, with the explicitly given flags recorded.
fn serve_args(argv: &[&str]) -> ServeArgs {
    let mut full = vec!["contour", "serve", "--insecure"];
    full.extend_from_slice(argv);
    let Command::Serve(mut args) = Cli::parse_from(&full).command else {
        panic!("not serve");
    };
    for a in argv.iter().filter_map(|a| a.strip_prefix("--")) {
        let id = a.split('=').next().unwrap_or(a).replace('-', "_");
        args.explicit_flags.insert(id);
    }
    *args
}

fn with_file(text: &str, argv: &[&str]) -> anyhow::Result<Settings> {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    let path = f.path().display().to_string();
    let mut all = vec!["--config-path", path.as_str()];
    all.extend_from_slice(argv);
    resolve(&serve_args(&all))
}

#[test]
fn defaults_without_a_file_match_upstream() {
    let s = resolve(&serve_args(&[])).unwrap();
    assert_eq!(s.xds.to_string(), "127.0.0.1:8001");
    assert_eq!(s.metrics.to_string(), "0.0.0.0:8000");
    assert_eq!(s.debug.to_string(), "127.0.0.1:6060");
    // Upstream's built-in defaults give upstream TLS 1.2-1.3 with the default ciphers.
    let want = TranslateConfig {
        upstream_tls: Some(contour_envoy::TlsParams::default()),
        ..Default::default()
    };
    assert_eq!(s.translate, want);
    assert_eq!(s.build, BuildConfig::default());
}

#[test]
fn flags_override_the_file() {
    let s = with_file("accesslog-format: envoy\n", &["--accesslog-format", "json"]).unwrap();
    assert!(matches!(
        s.translate.access_log.format,
        contour_envoy::config::AccessLogFormat::Json(_)
    ));
    let s = with_file(
        "envoy-service-name: from-file\n",
        &["--envoy-service-name", "flag"],
    )
    .unwrap();
    assert_eq!(s.spec.envoy.unwrap().service.unwrap().name, "flag");
}

#[test]
fn file_overrides_defaults() {
    let s = with_file("envoy-service-name: from-file\n", &[]).unwrap();
    assert_eq!(s.spec.envoy.unwrap().service.unwrap().name, "from-file");
}

/// Upstream's exception: `metrics.*` in the file wins even over explicit flags.
#[test]
fn file_metrics_win_over_flags() {
    let s = with_file(
        "metrics:\n  envoy: {address: 127.0.0.1, port: 9100}\n  contour: {port: 9200}\n",
        &["--stats-port", "9999", "--http-port", "9998"],
    )
    .unwrap();
    assert_eq!(s.translate.stats_port, 9100);
    assert_eq!(s.translate.stats_address, "127.0.0.1");
    // Envoy's health stays on the stats flags: separate listeners.
    assert_eq!(s.translate.health_port, 9999);
    assert_eq!(s.metrics.port(), 9200);
}

#[test]
fn both_sources_are_refused() {
    let err = resolve(&serve_args(&[
        "--config-path",
        "/nonexistent",
        "--contour-config-name",
        "contour",
    ]))
    .unwrap_err();
    assert!(err.to_string().contains("cannot specify both"), "{err}");
}

#[test]
fn bad_file_names_the_key() {
    let err = with_file("timeouts:\n  request-timeout: soon\n", &[]).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("timeouts.request-timeout (line 2)"), "{msg}");
}

#[test]
fn every_key_file_resolves() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/contour/contour-all-keys.yaml"
    ))
    .unwrap();
    // Envoy's health stays on --stats-port: it must differ from the TLS metrics port (8002)
    // and from omEnforcedHealthListener (8003). Contour's health must leave the TLS metrics
    // port (8000) too (upstream: "cannot use single port for health over HTTP and metrics
    // over HTTPS").
    let s = with_file(&text, &["--stats-port", "8005", "--health-port", "8006"]).unwrap();
    let t = &s.translate;
    assert_eq!(t.xff_num_trusted_hops, 1);
    assert!(t.strip_trailing_host_dot);
    assert!(!t.merge_slashes);
    assert!(!t.allow_chunked_length);
    assert_eq!(t.compression, contour_envoy::Compression::Brotli);
    assert_eq!(t.listener.tos, 64);
    assert!(t.listener.connection_balancer_exact);
    assert_eq!(t.cluster.circuit_breakers.max_retries, Some(3));
    assert!(t.metrics_tls.is_some());
    assert!(s.build.enable_external_name_service);
    let tls = s.metrics_tls.expect("metrics.contour TLS");
    assert_eq!(
        tls.cert_file,
        std::path::Path::new("/path/to/server-cert.pem")
    );
    assert_eq!(
        tls.key_file,
        std::path::Path::new("/path/to/server-private-key.pem")
    );
    assert_eq!(
        tls.ca_file.as_deref(),
        Some(std::path::Path::new(
            "/path/to/root-ca-for-client-validation.pem"
        ))
    );
}

#[test]
fn kubeconfig_and_incluster_come_from_the_file_unless_flags_say() {
    let none = resolve(&serve_args(&[])).unwrap();
    assert_eq!((none.kubeconfig, none.incluster), (None, false));
    let file = "kubeconfig: /etc/contour/kubeconfig\nincluster: true\n";
    let s = with_file(file, &[]).unwrap();
    assert_eq!(
        s.kubeconfig.as_deref(),
        Some(std::path::Path::new("/etc/contour/kubeconfig"))
    );
    assert!(s.incluster);
    let s = with_file(file, &["--kubeconfig", "/flag/kubeconfig"]).unwrap();
    assert_eq!(
        s.kubeconfig.as_deref(),
        Some(std::path::Path::new("/flag/kubeconfig"))
    );
    // The file's default path is what inference reads anyway: left to it ($KUBECONFIG first).
    let home = std::env::var("HOME").unwrap_or_default();
    let s = with_file(&format!("kubeconfig: {home}/.kube/config\n"), &[]).unwrap();
    assert_eq!((s.kubeconfig, s.incluster), (None, false));
}

#[test]
fn route_scopes_come_from_their_flag_and_are_checked() {
    assert_eq!(
        resolve(&serve_args(&[]))
            .unwrap()
            .translate
            .http_route_scopes,
        0
    );
    let s = resolve(&serve_args(&["--http-route-scopes", "64"])).unwrap();
    assert_eq!(s.translate.http_route_scopes, 64);
    for bad in ["1", "0", "1025", "many"] {
        let err = Cli::try_parse_from(["contour", "serve", "--http-route-scopes", bad])
            .err()
            .unwrap_or_else(|| panic!("{bad} accepted"));
        assert!(
            err.to_string().contains("route scopes from 2 to 1024"),
            "{bad}: {err}"
        );
    }
}
