//! The fast road must give what the general road gives, or step aside.

use std::path::Path;

use serde_json::Value;

use super::super::decode::{general_road, parse_file};
use super::*;

/// Documents the fast road takes: each decodes to the general road's object.
const TAKEN: &[(&str, &str)] = &[
    (
        "service, namespace defaulted",
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports:\n  - {name: http, port: 80, targetPort: http}\n  - {port: 443, targetPort: 8443, protocol: TCP}\n  type: ClusterIP\n",
    ),
    (
        "metadata before the type, empty namespace, unknown fields at every level",
        "metadata:\n  name: web\n  namespace: ''\n  labels: {app: web, '80': x}\n  unknownMeta: [1, 2]\nfoo: {bar: baz}\nkind: Service\napiVersion: v1\nspec:\n  ports: [{port: 80, extra: true}]\n  externalName: 'example.com'\n  whatever: 3\n",
    ),
    (
        "status, managed fields and kubectl's copy dropped",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: team\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '{\"big\": 1}'\n    projectcontour.io/upstream-protocol.h2c: http\n  managedFields: [{manager: kubectl, operation: Apply}]\nspec: {ports: [{port: 80}]}\nstatus: {loadBalancer: {ingress: [{ip: 10.0.0.1}]}}\n",
    ),
    (
        "a status the type could not hold is ignored, as on the general road",
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nstatus: 12\nspec: {ports: [{port: 80}]}\n",
    ),
    (
        "endpoint slice",
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: web-1, namespace: bench-0, labels: {kubernetes.io/service-name: web}}\naddressType: IPv4\nports:\n- {name: http, port: 8080, protocol: TCP}\nendpoints:\n- {addresses: [\"10.0.0.1\"], conditions: {ready: true}}\n- addresses: [10.0.0.2]\n  conditions: {ready: false, serving: null}\n  nodeName: ~\n",
    ),
    (
        "secret with data, string data and a type",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: tls, namespace: team}\ntype: kubernetes.io/tls\ndata:\n  tls.crt: dGVzdA==\n  tls.key: \"a2V5\"\nstringData: {extra: '5'}\n",
    ),
    (
        "namespace: its namespace field is dropped",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: team, namespace: ignored, labels: {a: b}}\n",
    ),
    (
        "ingress",
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: web\n  annotations: {kubernetes.io/ingress.class: contour}\nspec:\n  tls: [{hosts: [a.example.com], secretName: tls}]\n  rules:\n  - host: a.example.com\n    http:\n      paths:\n      - path: /\n        pathType: Prefix\n        backend: {service: {name: web, port: {number: 80}}}\n",
    ),
    (
        "anchors and aliases",
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, labels: &l {a: b}, annotations: *l}\nspec: {ports: [{port: 80}]}\n",
    ),
];

/// Documents the fast road leaves to the general one (which rejects them or reads them in
/// its own way).
const LEFT: &[(&str, &str)] = &[
    (
        "wrong field type",
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: eighty}]}\n",
    ),
    (
        "a plain number where a string goes (YAML would take it, JSON does not)",
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{name: 80, port: 80}]}\n",
    ),
    (
        "a plain boolean where a string goes",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: true\n",
    ),
    (
        "a quoted boolean where a boolean goes",
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\naddressType: IPv4\nendpoints: [{addresses: [a], conditions: {ready: 'true'}}]\n",
    ),
    (
        "missing name",
        "apiVersion: v1\nkind: Service\nmetadata: {}\n",
    ),
    ("no metadata", "apiVersion: v1\nkind: Service\n"),
    (
        "namespace of the wrong type",
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: 5}\n",
    ),
    (
        "the kind named twice: the last one counts",
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nkind: Secret\n",
    ),
    (
        "secret data that is not base64",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: '!!!'}\n",
    ),
    (
        "managed fields of the wrong shape (the general road drops them first)",
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, managedFields: 3}\n",
    ),
    ("not a mapping", "- a\n- b\n"),
    ("null", "~\n"),
    ("empty mapping", "{}\n"),
    ("syntax error", "apiVersion: v1\nkind: [\n"),
];

#[test]
fn taken_documents_decode_as_on_the_general_road() {
    for (name, text) in TAKEN {
        let Some(Doc::Object(fast)) = parse(text) else {
            panic!("{name}: not taken: {:?}", parse(text));
        };
        assert_eq!(general_road(text), vec![Ok(fast)], "{name}");
    }
}

#[test]
fn left_documents_go_to_the_general_road() {
    for (name, text) in LEFT {
        match parse(text) {
            None => {}
            // Kinds it does not decode come back as the general road's own value.
            Some(Doc::Value(v)) => {
                assert_eq!(
                    Ok(v),
                    serde_norway::from_str::<Value>(text).map_err(|_| ()),
                    "{name}"
                )
            }
            Some(Doc::Object(o)) => panic!("{name}: taken as {o:?}"),
        }
    }
}

#[test]
fn other_kinds_come_back_as_the_general_roads_value() {
    let cases = [
        "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: p}\nspec: {virtualhost: {fqdn: a.com}, routes: [{services: [{name: s, port: 80}]}]}\n",
        "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: a}}\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: 1, a: 2}\n",
        "kind: Service\napiVersion: 1\nmetadata: {name: a}\n",
        "a: 1\nb: [x, {c: ~}]\na: 3\n",
    ];
    for text in cases {
        let expected: Value = serde_norway::from_str(text).unwrap();
        assert_eq!(parse(text), Some(Doc::Value(expected)), "{text}");
    }
}

#[test]
fn wrong_field_type_of_a_built_in_kind_is_rejected_with_file_and_line() {
    let text = "apiVersion: v1\nkind: Service\nmetadata: {name: ok}\nspec: {ports: [{port: 80}]}\n---\n# the next one is broken\napiVersion: v1\nkind: Service\nmetadata: {name: bad, namespace: team}\nspec: {ports: [{name: 80, port: 80}]}\n";
    let parsed = parse_file(Path::new("/m/svc.yaml"), text.as_bytes());
    assert_eq!(parsed.objects.len(), 1);
    assert_eq!(parsed.objects[0].key().name, "ok");
    let problem = &parsed.problems[0];
    assert_eq!((problem.document, problem.line), (2, 7));
    let key = problem.key.clone().expect("the object is identified");
    assert_eq!((key.namespace.as_str(), key.name.as_str()), ("team", "bad"));
    assert!(
        parsed.rejected.contains(&key),
        "its last good version is kept"
    );
    assert!(
        problem
            .reason
            .contains("invalid type: integer `80`, expected a string"),
        "{}",
        problem.reason
    );
}
