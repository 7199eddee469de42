//! ExtensionServices in Kubernetes mode, end to end: the `Valid` condition is written back to
//! the object (only when it changes), and a valid ExtensionService becomes a cluster real Envoy
//! accepts, named `extension/<ns>/<name>`, with the endpoints of its Service (an h2c gRPC
//! backend) kept current through EndpointSlice changes.

mod kube_env;

use contour_testkit::{ApiServer, GrpcBackend, endpointslice_doc, poll_until};
use kube_env::{CONVERGE, Replica, start_envoy};
use serde_json::{Value, json};

const EXT_API: &str = "projectcontour.io/v1alpha1";

fn grpc_service(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": name, "namespace": "default"},
           "spec": {"ports": [{"name": "grpc", "port": 9000, "protocol": "TCP"}]}})
}

fn extension_service(name: &str, spec: Value) -> Value {
    json!({"apiVersion": EXT_API, "kind": "ExtensionService",
           "metadata": {"name": name, "namespace": "default"}, "spec": spec})
}

/// An Opaque Secret holding `ca.crt`.
fn ca_secret(name: &str, pem: &str) -> Value {
    let b64 = serde_json::to_value(k8s_openapi::ByteString(pem.as_bytes().to_vec())).unwrap();
    json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
           "metadata": {"name": name, "namespace": "default"}, "data": {"ca.crt": b64}})
}

/// Polls until the ExtensionService's `Valid` condition has `status`; returns the condition.
async fn wait_valid(server: &ApiServer, name: &str, status: &str) -> Value {
    poll_until(
        CONVERGE,
        &format!("ExtensionService {name} Valid={status}"),
        || async {
            let obj = server.get(EXT_API, "ExtensionService", "default", name)?;
            let conds = obj["status"]["conditions"].as_array()?.clone();
            conds
                .into_iter()
                .find(|c| c["type"] == "Valid" && c["status"] == status)
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Envoy's `/clusters` lines of cluster `name` that are host lines (`name::addr::field::value`).
async fn cluster_hosts(envoy: &contour_testkit::Envoy, name: &str, field: &str) -> Vec<String> {
    let Ok((200, text)) = envoy.admin_get("/clusters").await else {
        return Vec::new();
    };
    let prefix = format!("{name}::");
    let suffix = format!("::{field}::");
    text.lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter_map(|l| {
            let (addr, value) = l.split_once(&suffix)?;
            Some(format!("{addr}={value}"))
        })
        .collect()
}

async fn wait_hosts(envoy: &contour_testkit::Envoy, name: &str, want: &[String]) {
    poll_until(CONVERGE, &format!("{name} hosts {want:?}"), || async {
        let mut got = cluster_hosts(envoy, name, "health_flags").await;
        got.sort();
        (got == want).then_some(())
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn extension_services_get_a_valid_condition_and_an_envoy_cluster() {
    let server = ApiServer::start().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (one, two) = (
        GrpcBackend::start("one").await.unwrap(),
        GrpcBackend::start("two").await.unwrap(),
    );
    server.apply(grpc_service("auth")).unwrap();
    server
        .apply_yaml(&endpointslice_doc(
            "default",
            "auth",
            "auth-0",
            "grpc",
            one.port(),
            &["127.0.0.1"],
            true,
        ))
        .unwrap();
    let ca = contour_testkit::certs::TestCa::new("ext-ca");
    server.apply(ca_secret("ext-ca", &ca.cert_pem)).unwrap();
    server
        .apply(extension_service(
            "auth",
            json!({"protocol": "h2c", "services": [{"name": "auth", "port": 9000}],
                   "timeoutPolicy": {"response": "1s", "idleConnection": "60s"}}),
        ))
        .unwrap();
    // h2 with upstream validation: TLS with SNI and the CA inline.
    server
        .apply(extension_service(
            "secure",
            json!({"services": [{"name": "auth", "port": 9000}],
                   "validation": {"caSecret": "ext-ca", "subjectName": "auth.example.com"}}),
        ))
        .unwrap();
    server
        .apply(extension_service(
            "broken",
            json!({"services": [{"name": "missing", "port": 9000}]}),
        ))
        .unwrap();
    let contour = Replica::start(&server, tmp.path(), "contour", &[]).unwrap();
    let envoy = start_envoy(tmp.path(), contour.xds).await.unwrap();

    // Statuses written back, as upstream words them.
    let valid = wait_valid(&server, "auth", "True").await;
    assert_eq!(valid["reason"], "Valid");
    assert_eq!(valid["message"], "Valid ExtensionService");
    assert_eq!(valid["observedGeneration"], 1);
    assert!(valid["lastTransitionTime"].is_string(), "{valid}");
    wait_valid(&server, "secure", "True").await;
    let invalid = wait_valid(&server, "broken", "False").await;
    assert_eq!(invalid["reason"], "ErrorPresent");
    assert_eq!(invalid["errors"][0]["type"], "ServiceError");
    assert_eq!(invalid["errors"][0]["reason"], "ServiceUnresolvedReference");
    assert_eq!(
        invalid["errors"][0]["message"],
        "unresolved service \"default/missing\": service \"default/missing\" not found"
    );

    // Envoy accepted both clusters and has the backend endpoint of each; health is tracked
    // under the readable stat name.
    let one_host = [format!("127.0.0.1:{}=healthy", one.port())];
    wait_hosts(&envoy, "extension/default/auth", &one_host).await;
    wait_hosts(&envoy, "extension/default/secure", &one_host).await;
    assert!(
        cluster_hosts(&envoy, "extension/default/broken", "health_flags")
            .await
            .is_empty()
    );
    let healthy = envoy
        .stat("cluster.extension_default_auth.membership_healthy")
        .await
        .unwrap();
    assert_eq!(healthy, Some(1));
    assert_eq!(
        envoy
            .stat("cluster_manager.cds.update_rejected")
            .await
            .unwrap(),
        Some(0)
    );
    let dump = envoy
        .config_dump("?resource=dynamic_active_clusters")
        .await
        .unwrap();
    let text = dump.to_string();
    assert!(text.contains("\"sni\":\"auth.example.com\""), "{text}");

    // A second backend through an EndpointSlice reaches Envoy without a rebuild of anything else.
    server
        .apply_yaml(&endpointslice_doc(
            "default",
            "auth",
            "auth-1",
            "grpc",
            two.port(),
            &["127.0.0.1"],
            true,
        ))
        .unwrap();
    let mut both = vec![
        format!("127.0.0.1:{}=healthy", one.port()),
        format!("127.0.0.1:{}=healthy", two.port()),
    ];
    both.sort();
    wait_hosts(&envoy, "extension/default/auth", &both).await;

    // Nothing is written again while the condition stays the same, even across rebuilds.
    let version = |name: &str| {
        server
            .get(EXT_API, "ExtensionService", "default", name)
            .unwrap()["metadata"]["resourceVersion"]
            .clone()
    };
    let reads = || {
        let path = "/apis/projectcontour.io/v1alpha1/namespaces/default/extensionservices/auth";
        let requests = server.requests();
        let n = requests.iter().filter(|r| r.path == path).count();
        assert!(
            n > 0,
            "the writer reads the object before writing its status"
        );
        n
    };
    let (before, read) = (version("auth"), reads());
    server.apply(grpc_service("missing")).unwrap();
    wait_valid(&server, "broken", "True").await;
    assert_eq!(version("auth"), before, "unchanged status rewritten");
    assert_eq!(reads(), read, "unchanged status looked at again");

    // Deleted: the cluster leaves Envoy.
    server.delete(EXT_API, "ExtensionService", "default", "auth");
    wait_hosts(&envoy, "extension/default/auth", &[]).await;
    drop(envoy);
}
