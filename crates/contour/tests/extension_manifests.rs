//! ExtensionServices in manifests mode: the `Valid` condition at `/debug/status`, and the
//! `extension/<ns>/<name>` cluster in real Envoy with its h2c gRPC backend, following edits.

mod common;

use common::{CONVERGE, Env};
use contour_testkit::{GrpcBackend, endpointslice_doc, poll_until};

fn service(backend: &GrpcBackend) -> String {
    let svc = "apiVersion: v1\nkind: Service\nmetadata: {name: auth, namespace: default}\n\
               spec:\n  ports: [{name: grpc, port: 9000, protocol: TCP}]\n";
    let slice = endpointslice_doc(
        "default",
        "auth",
        "auth-0",
        "grpc",
        backend.port(),
        &["127.0.0.1"],
        true,
    );
    format!("{svc}---\n{slice}")
}

fn extension(service: &str) -> String {
    format!(
        "apiVersion: projectcontour.io/v1alpha1\nkind: ExtensionService\n\
         metadata: {{name: ext, namespace: default}}\n\
         spec:\n  protocol: h2c\n  services: [{{name: {service}, port: 9000}}]\n"
    )
}

/// `/clusters` host lines of `extension/default/ext` as `addr=health`.
async fn hosts(env: &Env) -> Vec<String> {
    let Ok((200, text)) = env.envoy.admin_get("/clusters").await else {
        return vec!["admin unavailable".into()];
    };
    text.lines()
        .filter_map(|l| l.strip_prefix("extension/default/ext::"))
        .filter_map(|l| l.split_once("::health_flags::"))
        .map(|(addr, health)| format!("{addr}={health}"))
        .collect()
}

async fn wait_hosts(env: &Env, want: &[String]) {
    poll_until(CONVERGE, &format!("extension hosts {want:?}"), || async {
        (hosts(env).await == want).then_some(())
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\ncontour log:\n{}", env.contour.log_tail(40)));
}

#[tokio::test]
async fn extension_service_status_and_cluster_follow_the_manifests() {
    let backend = GrpcBackend::start("auth").await.unwrap();
    let env = Env::start(&[
        ("svc.yaml", service(&backend)),
        ("ext.yaml", extension("auth")),
    ])
    .await;
    let st = env
        .wait_proxy_status("default", "ext", |s| s["conditions"][0]["status"] == "True")
        .await;
    assert_eq!(st["conditions"][0]["message"], "Valid ExtensionService");
    let healthy = [format!("127.0.0.1:{}=healthy", backend.port())];
    wait_hosts(&env, &healthy).await;

    // A mistake: the status says why, and the cluster leaves Envoy.
    env.dir.write("ext.yaml", &extension("missing")).unwrap();
    let st = env
        .wait_proxy_status("default", "ext", |s| {
            s["conditions"][0]["status"] == "False"
        })
        .await;
    assert_eq!(
        st["conditions"][0]["errors"][0]["reason"],
        "ServiceUnresolvedReference"
    );
    wait_hosts(&env, &[]).await;

    // Fixed again.
    env.dir.write("ext.yaml", &extension("auth")).unwrap();
    wait_hosts(&env, &healthy).await;
}
