use rstest::rstest;
use serde_json::{Value, json};

use super::{AdmissionError, admit, has_schema, schemas};
use crate::v1::{HTTPProxy, HTTPProxySpec};

fn yaml(doc: &str) -> Value {
    serde_norway::from_str(doc).expect("test YAML parses")
}

fn proxy(spec: Value) -> Value {
    json!({
        "apiVersion": "projectcontour.io/v1",
        "kind": "HTTPProxy",
        "metadata": { "name": "foo", "namespace": "default" },
        "spec": spec,
    })
}

fn rejected(mut obj: Value) -> AdmissionError {
    admit(&mut obj).expect_err("object should be rejected")
}

#[test]
fn every_schema_pattern_compiles() {
    fn count(v: &Value) -> usize {
        match v {
            Value::Object(m) => {
                m.get("pattern").map_or(0, |_| 1) + m.values().map(count).sum::<usize>()
            }
            Value::Array(a) => a.iter().map(count).sum(),
            _ => 0,
        }
    }
    let s = schemas();
    let declared: std::collections::BTreeSet<_> = s
        .by_type
        .values()
        .flat_map(|schema| {
            let mut found = Vec::new();
            collect(schema, &mut found);
            found
        })
        .collect();
    fn collect(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(p)) = m.get("pattern") {
                    out.push(p.clone());
                }
                m.values().for_each(|v| collect(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| collect(v, out)),
            _ => {}
        }
    }
    assert!(s.by_type.values().map(count).sum::<usize>() > 10);
    assert_eq!(
        declared.len(),
        s.patterns.len(),
        "a schema pattern does not compile"
    );
}

#[rstest]
#[case::nested_bracket(r"^[^\/[\]?]+$", "a[b", false)]
#[case::plain_bracket_literal(r"^[^\/[\]?]+$", "abc", true)]
#[case::tilde_and_amp(r"^[a-z&~-]+$", "a&~-b", true)]
fn go_patterns_keep_their_meaning(#[case] go: &str, #[case] input: &str, #[case] matches: bool) {
    let re = regex::Regex::new(&super::go_to_rust_regex(go)).unwrap();
    assert_eq!(re.is_match(input), matches, "{go} on {input}");
}

#[test]
fn cookie_name_pattern_rejects_separators() {
    let spec = |name: &str| json!({"routes": [{"cookieRewritePolicies": [{"name": name}]}]});
    let mut ok = proxy(spec("session"));
    admit(&mut ok).unwrap();
    let err = rejected(proxy(spec("a[b")));
    assert!(err.errors[0].message.contains("should match"), "{err}");
}

#[test]
fn knows_contours_kinds_only() {
    assert!(has_schema("projectcontour.io/v1", "HTTPProxy"));
    assert!(has_schema(
        "projectcontour.io/v1",
        "TLSCertificateDelegation"
    ));
    assert!(has_schema("projectcontour.io/v1alpha1", "ExtensionService"));
    assert!(has_schema(
        "projectcontour.io/v1alpha1",
        "ContourConfiguration"
    ));
    assert!(!has_schema("v1", "Service"));
    let mut svc = json!({"apiVersion": "v1", "kind": "Service", "spec": {"ports": "junk"}});
    let before = svc.clone();
    admit(&mut svc).unwrap();
    assert_eq!(svc, before);
}

#[test]
fn applies_defaults_inside_present_parents() {
    let mut obj = proxy(json!({
        "virtualhost": { "fqdn": "example.com" },
        "routes": [
            { "requestRedirectPolicy": { "scheme": "https" } },
            { "services": [{ "name": "s", "port": 80 }], "retryPolicy": {} },
            { "services": [{ "name": "s", "port": 80 }] },
        ],
    }));
    admit(&mut obj).unwrap();
    assert_eq!(
        obj["spec"]["routes"][0]["requestRedirectPolicy"]["statusCode"],
        302
    );
    assert_eq!(obj["spec"]["routes"][1]["retryPolicy"]["count"], 1);
    // No parent, no default.
    assert!(obj["spec"]["routes"][2].get("retryPolicy").is_none());
    assert_eq!(obj["status"]["currentStatus"], "NotReconciled");
}

#[test]
fn null_fields_are_pruned_then_defaulted() {
    let mut obj = proxy(json!({
        "routes": [{ "requestRedirectPolicy": { "statusCode": null }, "timeoutPolicy": null }],
    }));
    admit(&mut obj).unwrap();
    let route = &obj["spec"]["routes"][0];
    assert_eq!(route["requestRedirectPolicy"]["statusCode"], 302);
    assert!(route.get("timeoutPolicy").is_none());
}

#[test]
fn valid_object_is_untouched_apart_from_defaults() {
    let doc = r#"
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: root, namespace: default, labels: { app: x } }
spec:
  virtualhost:
    fqdn: "*.example.com"
    tls: { secretName: other/cert, minimumProtocolVersion: "1.3" }
    corsPolicy: { allowOrigin: ["*"], allowMethods: [GET, POST], maxAge: 10m }
    jwtProviders:
      - name: p
        remoteJWKS: { uri: "https://idp/jwks", timeout: 1s }
  includes:
    - name: child
      conditions: [{ prefix: /api }, { header: { name: x-a, present: true } }]
  routes:
    - conditions: [{ prefix: / }]
      services:
        - { name: s, port: 8080, weight: 10, protocol: h2c }
        - { name: m, port: 8080, mirror: true }
      timeoutPolicy: { response: 1s, idle: infinity }
      retryPolicy: { count: 3, retryOn: [5xx, reset] }
      loadBalancerPolicy: { strategy: Cookie }
      healthCheckPolicy: { path: /healthz, intervalSeconds: 5 }
      requestHeadersPolicy: { set: [{ name: Host, value: foo }], remove: [x-b] }
      authPolicy: { context: { a: b } }
"#;
    let mut obj = yaml(doc);
    let mut expected = obj.clone();
    admit(&mut obj).unwrap();
    expected["status"] =
        json!({ "currentStatus": "NotReconciled", "description": "Waiting for controller" });
    assert_eq!(obj, expected);
    // The admitted object deserializes into the Rust types.
    let typed: HTTPProxy = serde_json::from_value(obj).unwrap();
    assert_eq!(typed.spec.routes[0].services.len(), 2);
}

#[test]
fn rejects_unsupported_redirect_code_with_api_server_wording() {
    let err = rejected(proxy(
        json!({ "routes": [{ "requestRedirectPolicy": { "statusCode": 305 } }] }),
    ));
    assert_eq!(
        err.to_string(),
        "HTTPProxy default/foo: spec.routes[0].requestRedirectPolicy.statusCode: Unsupported value: \
         305: supported values: \"301\", \"302\", \"303\", \"307\", \"308\""
    );
}

#[rstest]
#[case::string_enum(json!({"routes": [{"services": [{"name": "s", "port": 80, "protocol": "h3"}]}]}),
    "spec.routes[0].services[0].protocol", "Unsupported value: \"h3\": supported values: \"h2\", \"h2c\", \"tls\"")]
#[case::enum_in_list(json!({"routes": [{"retryPolicy": {"retryOn": ["5xx", "sometimes"]}}]}),
    "spec.routes[0].retryPolicy.retryOn[1]", "Unsupported value: \"sometimes\"")]
#[case::fqdn_pattern(json!({"virtualhost": {"fqdn": "Foo.Example.com"}}),
    "spec.virtualhost.fqdn", "Invalid value: \"Foo.Example.com\": should match '^(\\*\\.)?")]
#[case::duration_pattern(json!({"routes": [{"timeoutPolicy": {"response": "soon"}}]}),
    "spec.routes[0].timeoutPolicy.response", "should match")]
#[case::include_name_required(json!({"includes": [{"namespace": "x"}]}),
    "spec.includes[0].name", "Required value")]
#[case::fqdn_required(json!({"virtualhost": {}}), "spec.virtualhost.fqdn", "Required value")]
#[case::port_exclusive_max(json!({"routes": [{"services": [{"name": "s", "port": 65536}]}]}),
    "spec.routes[0].services[0].port", "Invalid value: 65536: should be less than 65536")]
#[case::port_min(json!({"routes": [{"services": [{"name": "s", "port": 0}]}]}),
    "spec.routes[0].services[0].port", "Invalid value: 0: should be greater than or equal to 1")]
#[case::retry_min(json!({"routes": [{"retryPolicy": {"count": -2}}]}),
    "spec.routes[0].retryPolicy.count", "should be greater than or equal to -1")]
#[case::direct_response_max(json!({"routes": [{"directResponsePolicy": {"statusCode": 600}}]}),
    "spec.routes[0].directResponsePolicy.statusCode", "should be less than or equal to 599")]
#[case::min_length(json!({"includes": [{"name": ""}]}),
    "spec.includes[0].name", "Invalid value: \"\": should be at least 1 chars long")]
#[case::max_length(json!({"routes": [{"requestRedirectPolicy": {"hostname": "a".repeat(254)}}]}),
    "spec.routes[0].requestRedirectPolicy.hostname", "Too long: may not be more than 253")]
#[case::min_items(json!({"virtualhost": {"fqdn": "a.b", "corsPolicy": {"allowOrigin": [], "allowMethods": ["GET"]}}}),
    "spec.virtualhost.corsPolicy.allowOrigin", "Invalid value: 0: should have at least 1 items")]
#[case::max_items(json!({"routes": [{"services": [{"name": "s", "port": 1, "validation": {"caSecret": "c", "subjectName": "a", "subjectNames": ["a","b","c","d","e","f","g","h","i"]}}]}]}),
    "spec.routes[0].services[0].validation.subjectNames", "Too many: 9: must have at most 8 items")]
#[case::wrong_type(json!({"routes": [{"services": [{"name": "s", "port": "http"}]}]}),
    "spec.routes[0].services[0].port", "Invalid value: \"string\": must be of type integer")]
#[case::unknown_field(json!({"routes": [{"servces": []}]}),
    "spec.routes[0].servces", "field not declared in schema")]
#[case::jwks_exactly_one(json!({"virtualhost": {"fqdn": "a.b", "jwtProviders": [{"name": "p"}]}}),
    "spec.virtualhost.jwtProviders[0]", "Invalid value: \"object\": exactly one of remoteJWKS or localJWKS must be set")]
#[case::http_settings_need_http(json!({"virtualhost": {"fqdn": "a.b", "authorization": {"httpSettings": {}}}}),
    "spec.virtualhost.authorization", "httpSettings can only be set when serviceType is 'http'")]
#[case::subject_names_first(json!({"routes": [{"services": [{"name": "s", "port": 1, "validation": {"caSecret": "c", "subjectName": "a", "subjectNames": ["b"]}}]}]}),
    "spec.routes[0].services[0].validation", "subjectNames[0] must equal subjectName if set")]
fn rejects(#[case] spec: Value, #[case] path: &str, #[case] message: &str) {
    let err = rejected(proxy(spec));
    assert!(
        err.errors
            .iter()
            .any(|e| e.path == path && e.message.contains(message)),
        "expected {path}: {message}; got {err}"
    );
}

#[test]
fn collects_every_error() {
    let err = rejected(proxy(json!({
        "includes": [{}],
        "routes": [{ "services": [{ "name": "s", "port": 0 }] }],
    })));
    assert_eq!(err.errors.len(), 2, "{err}");
    assert_eq!(err.name, "foo");
    assert_eq!(err.namespace, "default");
}

#[test]
fn allowed_header_needs_exactly_one_matcher() {
    let spec = |headers: Value| {
        json!({"virtualhost": {"fqdn": "a.b", "authorization": {
        "serviceType": "http", "httpSettings": {"allowedAuthorizationHeaders": headers}}}})
    };
    let mut ok = proxy(spec(json!([{ "exact": "x-a" }])));
    admit(&mut ok).unwrap();
    let err = rejected(proxy(spec(json!([{ "exact": "x-a", "prefix": "x-" }]))));
    assert_eq!(err.errors.len(), 1);
}

#[test]
fn other_kinds_default_and_validate() {
    let mut es = yaml(
        "apiVersion: projectcontour.io/v1alpha1\nkind: ExtensionService\n\
         metadata: {name: auth, namespace: ns}\nspec: {services: [{name: s, port: 9000}], protocol: h2}\n",
    );
    admit(&mut es).unwrap();
    let err = rejected(yaml(
        "apiVersion: projectcontour.io/v1alpha1\nkind: ExtensionService\n\
         metadata: {name: auth, namespace: ns}\nspec: {services: [], protocol: h3}\n",
    ));
    assert_eq!(err.errors.len(), 2, "{err}");
    // Only protocol version v3 (the processor has no reason for another, as upstream).
    let err = rejected(yaml(
        "apiVersion: projectcontour.io/v1alpha1\nkind: ExtensionService\n\
         metadata: {name: auth, namespace: ns}\nspec: {services: [{name: s, port: 9000}], protocolVersion: v2}\n",
    ));
    assert!(err.to_string().contains("spec.protocolVersion"), "{err}");
    let err = rejected(yaml(
        "apiVersion: projectcontour.io/v1\nkind: TLSCertificateDelegation\n\
         metadata: {name: d, namespace: ns}\nspec: {delegations: [{secretName: s}]}\n",
    ));
    assert_eq!(
        err.to_string(),
        "TLSCertificateDelegation ns/d: spec.delegations[0].targetNamespaces: Required value"
    );
}

#[test]
fn missing_name_and_spec_are_reported() {
    let err = rejected(
        json!({"apiVersion": "projectcontour.io/v1", "kind": "HTTPProxy", "metadata": {}}),
    );
    let paths: Vec<_> = err.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["metadata.name", "spec"]);
    let _ = HTTPProxySpec::default();
}
