use std::path::PathBuf;

use serde_json::Value;

use super::{crds, crds_yaml};

fn checked_in_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds/contour-crds.yaml")
}

/// The checked-in CRD YAML must equal what the types generate. Regenerate it with
/// `UPDATE_CRDS=1 cargo test -p contour-api`.
#[test]
fn checked_in_crds_are_up_to_date() {
    let path = checked_in_path();
    let generated = crds_yaml();
    if std::env::var_os("UPDATE_CRDS").is_some() {
        std::fs::write(&path, &generated).expect("write deploy/crds/contour-crds.yaml");
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{} is stale; regenerate it with `UPDATE_CRDS=1 cargo test -p contour-api`",
        path.display()
    );
}

#[test]
fn yaml_is_deterministic_and_parses_back() {
    let yaml = crds_yaml();
    assert_eq!(yaml, crds_yaml());
    let docs: Vec<Value> = serde_norway::Deserializer::from_str(&yaml)
        .map(|d| serde::Deserialize::deserialize(d).expect("valid YAML"))
        .collect();
    assert_eq!(docs.len(), 4);
    assert!(docs.iter().all(|d| d["kind"] == "CustomResourceDefinition"));
}

fn schema_of(name: &str) -> Value {
    let crd = crds()
        .into_iter()
        .find(|c| c.metadata.name.as_deref() == Some(name))
        .expect("crd exists");
    serde_json::to_value(
        &crd.spec.versions[0]
            .schema
            .as_ref()
            .unwrap()
            .open_api_v3_schema,
    )
    .unwrap()
}

#[test]
fn names_and_scope_match_upstream() {
    let names: Vec<_> = crds()
        .into_iter()
        .map(|c| c.metadata.name.unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "contourconfigurations.projectcontour.io",
            "extensionservices.projectcontour.io",
            "httpproxies.projectcontour.io",
            "tlscertificatedelegations.projectcontour.io"
        ]
    );
    for crd in crds() {
        assert_eq!(crd.spec.scope, "Namespaced");
        let version = &crd.spec.versions[0];
        assert!(version.served && version.storage);
        assert!(
            version
                .subresources
                .as_ref()
                .and_then(|s| s.status.as_ref())
                .is_some()
        );
    }
    let proxy = crds()
        .into_iter()
        .find(|c| c.spec.names.kind == "HTTPProxy")
        .unwrap();
    assert_eq!(
        proxy.spec.names.short_names,
        Some(vec!["proxy".into(), "proxies".into()])
    );
    let columns: Vec<_> = proxy.spec.versions[0]
        .additional_printer_columns
        .as_ref()
        .unwrap()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        columns,
        ["FQDN", "TLS Secret", "Status", "Status Description"]
    );
}

/// A structural schema: every node has a type (or is an int-or-string / preserve-unknown
/// node), no `nullable` from schemars, no `$ref`.
fn assert_structural(path: &str, schema: &Value) {
    let obj = schema
        .as_object()
        .unwrap_or_else(|| panic!("{path}: not an object"));
    assert!(!obj.contains_key("$ref"), "{path}: $ref");
    assert!(!obj.contains_key("nullable"), "{path}: nullable");
    let typed = obj.contains_key("type")
        || obj.contains_key("x-kubernetes-int-or-string")
        || obj.contains_key("x-kubernetes-preserve-unknown-fields");
    assert!(typed, "{path}: no type");
    if let Some(Value::Object(props)) = obj.get("properties") {
        for (k, v) in props {
            assert_structural(&format!("{path}.{k}"), v);
        }
    }
    if let Some(items) = obj.get("items") {
        assert_structural(&format!("{path}[]"), items);
    }
    if let Some(ap @ Value::Object(_)) = obj.get("additionalProperties") {
        assert_structural(&format!("{path}{{}}"), ap);
    }
}

#[test]
fn schemas_are_structural() {
    for name in [
        "extensionservices.projectcontour.io",
        "httpproxies.projectcontour.io",
        "tlscertificatedelegations.projectcontour.io",
    ] {
        assert_structural(name, &schema_of(name));
    }
}

#[test]
fn upstream_constraints_are_present() {
    let s = schema_of("httpproxies.projectcontour.io");
    let route = &s["properties"]["spec"]["properties"]["routes"]["items"]["properties"];
    assert_eq!(
        route["requestRedirectPolicy"]["properties"]["statusCode"]["default"],
        302
    );
    assert_eq!(route["retryPolicy"]["properties"]["count"]["default"], 1);
    assert_eq!(route["retryPolicy"]["properties"]["count"]["minimum"], -1.0);
    assert_eq!(
        s["properties"]["status"]["default"]["currentStatus"],
        "NotReconciled"
    );
    let include = &s["properties"]["spec"]["properties"]["includes"]["items"];
    assert_eq!(include["required"], serde_json::json!(["name"]));
    let vhost = &s["properties"]["spec"]["properties"]["virtualhost"];
    assert_eq!(vhost["required"], serde_json::json!(["fqdn"]));
    assert!(vhost["properties"]["fqdn"]["pattern"].is_string());
    let service = &route["services"]["items"];
    assert_eq!(service["properties"]["port"]["exclusiveMaximum"], true);
    assert_eq!(
        service["properties"]["protocol"]["enum"],
        serde_json::json!(["h2", "h2c", "tls"])
    );
}
