//! The ExtensionService processor: one case per upstream condition reason, and the cluster a
//! valid ExtensionService becomes.

use contour_testkit::certs::{TestCa, pem_secret_yaml, tls_secret_yaml};
use rstest::rstest;

use crate::builder::{BuildConfig, build};
use crate::duration::Timeout;
use crate::model::{CircuitBreakers, ExtensionCluster};
use crate::status::ExtensionStatus;
use crate::testutil::{cache_with, obj, service};
use crate::{Cache, Object};

fn ext(spec: &str) -> Object {
    obj(&format!(
        "apiVersion: projectcontour.io/v1alpha1\nkind: ExtensionService\n\
         metadata: {{name: ext, namespace: ns, generation: 3}}\nspec:\n{spec}"
    ))
}

fn ca_secret(ns: &str, name: &str) -> Object {
    obj(&pem_secret_yaml(
        ns,
        name,
        "ca.crt",
        &TestCa::new("ca").cert_pem,
    ))
}

fn run(cache: &Cache, cfg: &BuildConfig) -> (Option<ExtensionCluster>, ExtensionStatus) {
    let out = build(cache, cfg);
    let st = out.status.extensions[&("ns".to_string(), "ext".to_string())].clone();
    (
        out.dag.extension_clusters.get("extension/ns/ext").cloned(),
        st,
    )
}

fn reasons(subs: &[contour_api::v1::SubCondition]) -> Vec<(&str, &str, &str)> {
    subs.iter()
        .map(|s| (s.type_.as_str(), s.reason.as_str(), s.message.as_str()))
        .collect()
}

const TWO_SERVICES: &str = "  services: [{name: one, port: 8081}, {name: two, port: 8082}]\n";

#[test]
fn a_valid_extension_service_becomes_an_h2_cluster() {
    let cache = cache_with([
        service("ns", "one", 8081, "grpc"),
        service("ns", "two", 8082, ""),
        ext(TWO_SERVICES),
    ]);
    let (c, st) = run(&cache, &BuildConfig::default());
    let c = c.expect("cluster");
    assert_eq!(c.name, "extension/ns/ext");
    assert_eq!(c.protocol, "h2");
    assert_eq!(
        (c.sni.as_str(), c.upstream_validation.is_none()),
        ("", true)
    );
    let svcs: Vec<_> = c
        .services
        .iter()
        .map(|w| (w.service.eds_name(), w.service.port, w.weight))
        .collect();
    assert_eq!(
        svcs,
        vec![("ns/one/grpc".into(), 8081, 0), ("ns/two".into(), 8082, 0)]
    );
    // No weights at all: upstream gives each locality weight 1.
    assert_eq!(c.locality_weights(), vec![Some(1), Some(1)]);
    let cond = st.to_condition();
    assert_eq!(
        (
            cond.type_.as_str(),
            cond.status.as_str(),
            cond.reason.as_str(),
            cond.message.as_str()
        ),
        ("Valid", "True", "Valid", "Valid ExtensionService")
    );
    assert_eq!(cond.observed_generation, Some(3));
}

#[rstest]
#[case::missing_service(
    "  services: [{name: missing, port: 443}]\n",
    "ServiceUnresolvedReference",
    "unresolved service \"ns/missing\": service \"ns/missing\" not found"
)]
#[case::missing_port(
    "  services: [{name: one, port: 9999}]\n",
    "ServiceUnresolvedReference",
    "unresolved service \"ns/one\": port \"9999\" on service \"ns/one\" not matched"
)]
#[case::udp_port(
    "  services: [{name: udp, port: 53}]\n",
    "ServiceUnresolvedReference",
    "unresolved service \"ns/udp\": unsupported service protocol \"UDP\""
)]
#[case::external_name(
    "  services: [{name: external, port: 443}]\n",
    "UnsupportedServiceType",
    "Service \"ns/external\" is of unsupported type \"ExternalName\"."
)]
fn unusable_services_are_service_errors(
    #[case] spec: &str,
    #[case] reason: &str,
    #[case] message: &str,
) {
    let cache = cache_with([
        service("ns", "one", 8081, ""),
        obj(
            "apiVersion: v1\nkind: Service\nmetadata: {name: udp, namespace: ns}\n\
             spec: {ports: [{port: 53, protocol: UDP}]}\n",
        ),
        obj(
            "apiVersion: v1\nkind: Service\nmetadata: {name: external, namespace: ns}\n\
             spec: {type: ExternalName, externalName: ext.example.com, ports: [{port: 443}]}\n",
        ),
        ext(spec),
    ]);
    let (c, st) = run(&cache, &BuildConfig::default());
    assert!(c.is_none(), "an invalid ExtensionService has no cluster");
    assert_eq!(reasons(&st.errors), vec![("ServiceError", reason, message)]);
    let cond = st.to_condition();
    assert_eq!(
        (cond.status.as_str(), cond.reason.as_str()),
        ("False", "ErrorPresent")
    );
    assert_eq!(
        cond.message,
        "At least one error present, see Errors for details"
    );
}

#[test]
fn a_service_in_another_namespace_is_not_used() {
    // Targets name Services in the ExtensionService's namespace only.
    let cache = cache_with([service("other", "one", 8081, ""), ext(TWO_SERVICES)]);
    let (c, st) = run(&cache, &BuildConfig::default());
    assert!(c.is_none());
    assert_eq!(st.errors.len(), 2);
}

#[test]
fn a_bad_timeout_is_a_spec_error() {
    let cache = cache_with([
        service("ns", "one", 8081, ""),
        ext("  services: [{name: one, port: 8081}]\n  timeoutPolicy: {response: invalid}\n"),
    ]);
    let (c, st) = run(&cache, &BuildConfig::default());
    assert!(c.is_none());
    assert_eq!(
        reasons(&st.errors),
        vec![(
            "SpecError",
            "TimeoutPolicyNotValid",
            "spec.timeoutPolicy failed to parse: error parsing response timeout: unable to parse timeout string \"invalid\": time: invalid duration \"invalid\""
        )]
    );
}

#[test]
fn timeouts_are_kept_and_an_idle_timeout_is_ignored_with_a_warning() {
    let cache = cache_with([
        service("ns", "one", 8081, ""),
        ext("  services: [{name: one, port: 8081}]\n  \
             timeoutPolicy: {response: 2s, idle: 5s, idleConnection: 60s}\n"),
    ]);
    let (c, st) = run(&cache, &BuildConfig::default());
    let c = c.expect("valid with a warning");
    assert_eq!(
        c.response_timeout,
        Timeout::Duration(std::time::Duration::from_secs(2))
    );
    assert_eq!(
        c.idle_connection_timeout,
        Timeout::Duration(std::time::Duration::from_secs(60))
    );
    assert_eq!(
        reasons(&st.warnings),
        vec![(
            "SpecError",
            "IgnoredField",
            "ignoring field \".Spec.TimeoutPolicy.Idle\"; idle timeouts are not supported for ExtensionClusters"
        )]
    );
    assert!(st.is_valid());
}

#[rstest]
#[case::cookie("Cookie", "", true)]
#[case::request_hash("RequestHash", "", true)]
#[case::random("Random", "Random", false)]
#[case::least_request("WeightedLeastRequest", "WeightedLeastRequest", false)]
fn hash_load_balancing_is_ignored_with_a_warning(
    #[case] strategy: &str,
    #[case] want: &str,
    #[case] warned: bool,
) {
    let cache = cache_with([
        service("ns", "one", 8081, ""),
        ext(&format!(
            "  services: [{{name: one, port: 8081}}]\n  loadBalancerPolicy: {{strategy: {strategy}}}\n"
        )),
    ]);
    let (c, st) = run(&cache, &BuildConfig::default());
    assert_eq!(c.expect("valid").lb_strategy, want);
    let message = format!(
        "ignoring field \".Spec.LoadBalancerPolicy\"; {strategy} load balancer policy is not supported for ExtensionClusters"
    );
    let want_warnings = if warned {
        vec![("SpecError", "IgnoredField", message.as_str())]
    } else {
        vec![]
    };
    assert_eq!(reasons(&st.warnings), want_warnings);
}

const VALIDATED: &str = "  services: [{name: one, port: 8081}]\n  \
     validation: {caSecret: CA, subjectName: ext.example.com}\n";

fn validated(ca: &str, extra: &str) -> Object {
    ext(&format!("{}{extra}", VALIDATED.replace("CA", ca)))
}

#[test]
fn upstream_validation_sets_sni_and_the_ca() {
    let cache = cache_with([
        service("ns", "one", 8081, ""),
        ca_secret("ns", "cacert"),
        validated("cacert", ""),
    ]);
    let (c, st) = run(&cache, &BuildConfig::default());
    let c = c.expect("valid");
    assert!(st.is_valid(), "{st:?}");
    assert_eq!(c.sni, "ext.example.com");
    let uv = c.upstream_validation.expect("validation");
    assert_eq!(uv.subject_names, vec!["ext.example.com".to_string()]);
    assert!(!uv.ca.is_empty());
}

#[test]
fn a_missing_ca_secret_is_a_validation_error() {
    let cache = cache_with([service("ns", "one", 8081, ""), validated("missing", "")]);
    let (c, st) = run(&cache, &BuildConfig::default());
    assert!(c.is_none());
    assert_eq!(
        reasons(&st.errors),
        vec![(
            "SpecError",
            "TLSUpstreamValidation",
            "TLS upstream validation policy error: invalid CA Secret \"ns/missing\": Secret not found"
        )]
    );
}

#[test]
fn a_ca_secret_in_another_namespace_needs_a_delegation() {
    let mut cache = cache_with([
        service("ns", "one", 8081, ""),
        ca_secret("certs", "cacert"),
        validated("certs/cacert", ""),
    ]);
    let (c, st) = run(&cache, &BuildConfig::default());
    assert!(c.is_none());
    assert_eq!(
        reasons(&st.errors),
        vec![(
            "TLSError",
            "CACertificateNotDelegated",
            "service.UpstreamValidation.CACertificate Secret \"certs/cacert\" is not configured for certificate delegation"
        )]
    );
    cache.insert(obj(
        "apiVersion: projectcontour.io/v1\nkind: TLSCertificateDelegation\n\
         metadata: {name: d, namespace: certs}\n\
         spec: {delegations: [{secretName: cacert, targetNamespaces: ['*']}]}\n",
    ));
    let (c, st) = run(&cache, &BuildConfig::default());
    assert!(st.is_valid(), "{st:?}");
    assert_eq!(c.expect("delegated").sni, "ext.example.com");
}

#[rstest]
#[case::h2c("h2c")]
#[case::http1("http/1.1")]
fn validation_needs_the_tls_protocol(#[case] protocol: &str) {
    let cache = cache_with([
        service("ns", "one", 8081, ""),
        ca_secret("ns", "cacert"),
        validated("cacert", &format!("  protocol: {protocol}\n")),
    ]);
    let (c, st) = run(&cache, &BuildConfig::default());
    assert!(c.is_none());
    let message = format!("upstream TLS validation not supported for \"{protocol}\" protocol");
    assert_eq!(
        reasons(&st.errors),
        vec![("SpecError", "InconsistentProtocol", message.as_str())]
    );
}

#[test]
fn an_invalid_envoy_client_certificate_is_a_tls_error() {
    let cfg = BuildConfig {
        envoy_client_certificate: Some(("ns".into(), "client".into())),
        ..Default::default()
    };
    let cache = cache_with([
        service("ns", "one", 8081, ""),
        ext("  services: [{name: one, port: 8081}]\n"),
    ]);
    let (c, st) = run(&cache, &cfg);
    assert!(c.is_none());
    assert_eq!(
        reasons(&st.errors),
        vec![(
            "TLSError",
            "SecretNotValid",
            "tls.envoy-client-certificate Secret \"ns/client\" is invalid: Secret not found"
        )]
    );
    let leaf = TestCa::new("ca").leaf("envoy", &["envoy"]);
    let mut cache = cache;
    cache.insert(obj(&tls_secret_yaml("ns", "client", &leaf)));
    let (c, _) = run(&cache, &cfg);
    assert_eq!(
        c.expect("valid").client_certificate.expect("cert").name,
        "client"
    );
}

#[test]
fn protocol_weights_and_circuit_breakers_are_kept() {
    let cache = cache_with([
        service("ns", "one", 8081, ""),
        service("ns", "two", 8082, ""),
        ext(
            "  protocol: h2c\n  services: [{name: one, port: 8081, weight: 3}, {name: two, port: 8082}]\n  \
             circuitBreakerPolicy: {maxConnections: 10, maxRetries: 0, perHostMaxConnections: 1}\n",
        ),
    ]);
    let (c, _) = run(&cache, &BuildConfig::default());
    let c = c.expect("valid");
    assert_eq!(c.protocol, "h2c");
    assert_eq!(c.locality_weights(), vec![Some(3), None]);
    assert_eq!(
        c.circuit_breakers,
        Some(CircuitBreakers {
            max_connections: Some(10),
            per_host_max_connections: Some(1),
            ..Default::default()
        })
    );
}

#[test]
fn an_invalid_extension_service_does_not_affect_others() {
    let other = obj(
        "apiVersion: projectcontour.io/v1alpha1\nkind: ExtensionService\n\
         metadata: {name: good, namespace: ns}\nspec: {services: [{name: one, port: 8081}]}\n",
    );
    let cache = cache_with([
        service("ns", "one", 8081, ""),
        other,
        ext("  services: [{name: missing, port: 1}]\n"),
    ]);
    let out = build(&cache, &BuildConfig::default());
    let names: Vec<&String> = out.dag.extension_clusters.keys().collect();
    assert_eq!(names, vec!["extension/ns/good"]);
    assert_eq!(out.status.extensions.len(), 2);
}

#[test]
fn services_and_ca_secrets_of_extension_services_trigger_rebuilds() {
    let mut cache = cache_with([ext(VALIDATED.replace("CA", "cacert").as_str())]);
    assert!(cache.insert(service("ns", "one", 8081, "")));
    assert!(!cache.insert(service("ns", "unrelated", 8081, "")));
    let key = ("ns".to_string(), "cacert".to_string());
    assert!(cache.secret_referenced(&key));
    assert_eq!(
        crate::references::secret_refs(&ext(VALIDATED.replace("CA", "certs/ca").as_str())),
        vec![("certs".to_string(), "ca".to_string())]
    );
}
