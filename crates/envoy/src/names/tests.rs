use super::*;
use rstest::rstest;

// Cases from upstream's TestTruncate.
#[rstest]
#[case::no_truncate(10, "quijibo", "a8c5e6", "quijibo")]
#[case::limit(7, "quijibo", "a8c5e6", "quijibo")]
#[case::truncate_some(6, "quijibo", "a8c5", "q-a8c5")]
#[case::truncate_suffix(4, "quijibo", "a8c5", "a8c5")]
#[case::truncate_more(3, "quijibo", "a8c5", "a8c")]
#[case::long_single_9(9, "gammagamma", "0d350e", "ga-0d350e")]
#[case::long_single_12(12, "gammagammagamma", "0d350e", "gamma-0d350e")]
#[case::issue_25(
    20,
    "my-very-very-long-service-host-name.my.domainname",
    "a8c5e6",
    "my-very-very--a8c5e6"
)]
fn truncate_matches_upstream(
    #[case] limit: usize,
    #[case] s: &str,
    #[case] suffix: &str,
    #[case] want: &str,
) {
    assert_eq!(truncate(limit, s, suffix), want);
}

// Cases from upstream's TestHashname.
#[rstest]
#[case::empty(99, &[], "")]
#[case::single(99, &["alpha"], "alpha")]
#[case::long_single_hashed(12, &["gammagammagamma"], "0d350ea5c204")]
#[case::single_truncated(4, &["alpha"], "8ed3")]
#[case::two_truncated(19, &["gammagamma", "betabeta"], "ga-edf159/betabeta")]
#[case::three(99, &["alpha", "beta", "gamma"], "alpha/beta/gamma")]
#[case::issue_25(
    60,
    &["default", "my-service-name", "my-very-very-long-service-host-name.my.domainname"],
    "default/my-service-name/my-very-very--c4d2d4"
)]
fn hashname_matches_upstream(#[case] limit: usize, #[case] parts: &[&str], #[case] want: &str) {
    assert_eq!(hashname(limit, parts), want);
}

#[test]
fn hashname_does_not_split_multibyte_characters() {
    let long = "é".repeat(40);
    let got = hashname(20, &[&long]);
    assert!(got.len() < 20, "{got}");
}

fn svc(ns: &str, name: &str, port: u16, port_name: &str) -> ServiceCluster {
    ServiceCluster {
        namespace: ns.into(),
        name: name.into(),
        port,
        port_name: port_name.into(),
        health_port: None,
    }
}

// Cases from upstream's TestClustername.
#[test]
fn cluster_name_default_policy() {
    let c = Cluster {
        service: svc("default", "kuard", 80, ""),
        ..Default::default()
    };
    assert_eq!(cluster_name(&c), "default/kuard/80/da39a3ee5e");
    let c = Cluster {
        service: svc("default", "backend", 80, "http"),
        ..Default::default()
    };
    assert_eq!(cluster_name(&c), "default/backend/80/da39a3ee5e");
}

#[test]
fn cluster_name_far_too_long() {
    let c = Cluster {
        service: svc(
            "it-is-a-truth-universally-acknowledged-that-a-single-man-in-possession-of-a-good-fortune",
            "must-be-in-want-of-a-wife",
            9999,
            "http",
        ),
        ..Default::default()
    };
    assert_eq!(
        cluster_name(&c),
        "it-is-a--dea8b0/must-be--dea8b0/9999/da39a3ee5e"
    );
}

#[test]
fn cluster_name_hashes_policy_buffer() {
    // Upstream's "various healthcheck params" case: buf = "Random" + "30s" + "5s" + "3" + "1" + "/healthz".
    let s = svc("default", "backend", 80, "http");
    assert_eq!(
        cluster_name_from_parts(&s, "Random30s5s31/healthz"),
        "default/backend/80/5c26077e1d"
    );
    // Upstream's "upstream tls validation with subject alt name" case: "Random" + "secret" + "foo.com".
    assert_eq!(
        cluster_name_from_parts(&s, "Randomsecretfoo.com"),
        "default/backend/80/6bf46b7b3a"
    );
    let random = Cluster {
        service: s.clone(),
        lb_strategy: "Random".into(),
        ..Default::default()
    };
    assert_ne!(cluster_name(&random), "default/backend/80/da39a3ee5e");
}

// The same upstream cases, built from DAG policies rather than a hand-made buffer.
#[test]
fn cluster_name_from_policies_matches_upstream() {
    use contour_dag::{ClusterPolicy, HealthCheck, UpstreamValidation};
    use std::time::Duration;
    let s = svc("default", "backend", 80, "http");
    let hc = Cluster {
        service: s.clone(),
        lb_strategy: "Random".into(),
        policy: ClusterPolicy {
            health_check: Some(
                HealthCheck {
                    path: "/healthz".into(),
                    interval: Duration::from_secs(5),
                    timeout: Duration::from_secs(30),
                    unhealthy_threshold: 3,
                    healthy_threshold: 1,
                    ..Default::default()
                }
                .into(),
            ),
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(cluster_name(&hc), "default/backend/80/5c26077e1d");
    let mut uv = Cluster {
        service: s,
        lb_strategy: "Random".into(),
        upstream_validation: Some(
            UpstreamValidation {
                ca_secret_name: "secret".into(),
                subject_names: vec!["foo.com".into()],
                ..Default::default()
            }
            .into(),
        ),
        ..Default::default()
    };
    assert_eq!(cluster_name(&uv), "default/backend/80/6bf46b7b3a");
    uv.sni = "foo.bar".into();
    assert_eq!(cluster_name(&uv), "default/backend/80/b8a2ccb774");
    uv.protocol = "h2".into();
    assert_eq!(cluster_name(&uv), "default/backend/80/50abc1400c");
}

#[test]
fn stat_and_eds_names() {
    let s = svc("default", "kuard", 443, "http");
    assert_eq!(alt_stat_name(&s), "default_kuard_443");
    assert_eq!(eds_service_name(&s), "default/kuard/http");
    assert_eq!(
        eds_service_name(&svc("default", "kuard", 443, "")),
        "default/kuard"
    );
}

#[test]
fn vhost_and_route_config_names() {
    assert_eq!(virtual_host_name("www.example.com"), "www.example.com");
    assert_eq!(virtual_host_name("*"), "*");
    let long = "my-very-very-long-service-host-name.subdomain.boring-dept.my.company";
    // One element of 60+ bytes truncates to exactly 60, which is not under the limit, so
    // upstream falls back to the bare hash.
    let got = virtual_host_name(long);
    assert_eq!(got, hex::encode(Sha256::digest(long.as_bytes()))[..60]);
    assert_eq!(
        https_route_config_name("www.example.com"),
        "https/www.example.com"
    );
    assert_eq!(
        xds_cluster_alt_stat_name("testing-ns", 8001),
        "testing-ns_contour_8001"
    );
    assert_eq!(
        admin_cluster_alt_stat_name("testing-ns", 9001),
        "testing-ns_envoy-admin_9001"
    );
}
