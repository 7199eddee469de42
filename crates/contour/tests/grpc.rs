//! A real gRPC service through Envoy: a tonic backend behind an HTTPProxy service with
//! `protocol: h2c` (and one whose Service port says `appProtocol: kubernetes.io/h2c`), called
//! by a tonic client through Envoy's HTTP listener. Unary replies, response metadata, and a
//! stream's final status with a custom trailer all come back. Without h2c, Envoy speaks
//! HTTP/1.1 to the backend and the call fails.

mod common;

use common::{CONVERGE, Env, proxy_yaml};
use contour_testkit::{GRPC_BACKEND_KEY, GrpcBackend, GrpcClient, endpointslice_doc, poll_until};
use tonic::Code;

/// Service `default/name` port 80 (named `grpc`, with `app_protocol` if any) to `backend`.
fn grpc_service(name: &str, app_protocol: &str, backend: &GrpcBackend) -> String {
    let app = if app_protocol.is_empty() {
        String::new()
    } else {
        format!(", appProtocol: {app_protocol}")
    };
    let svc = format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  ports:\n  - {{name: grpc, port: 80, protocol: TCP, targetPort: grpc{app}}}\n"
    );
    let slice = endpointslice_doc(
        "default",
        name,
        &format!("{name}-0"),
        "grpc",
        backend.port(),
        &["127.0.0.1"],
        true,
    );
    format!("{svc}---\n{slice}")
}

fn root(name: &str, fqdn: &str, service: &str) -> String {
    proxy_yaml(
        "default",
        name,
        &format!("  virtualhost: {{fqdn: {fqdn}}}\n  routes:\n  - services: [{service}]\n"),
    )
}

/// Polls until a `Say` through Envoy to `host` succeeds; returns the client.
async fn ready_client(env: &Env, host: &str) -> GrpcClient {
    let port = env.ports.http;
    poll_until(CONVERGE, &format!("gRPC through {host}"), || async move {
        let mut c = GrpcClient::connect(port, host).await.ok()?;
        c.say("ping").await.ok()?;
        Some(c)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\ncontour log:\n{}", env.contour.log_tail(40)))
}

#[tokio::test]
async fn grpc_backend_through_envoy_with_h2c() {
    let (g1, g2) = (
        GrpcBackend::start("g1").await.unwrap(),
        GrpcBackend::start("g2").await.unwrap(),
    );
    let files = [
        (
            "svc.yaml",
            [
                grpc_service("grpc", "", &g1),
                grpc_service("grpc-app", "kubernetes.io/h2c", &g2),
            ]
            .join("---\n"),
        ),
        (
            "h2c.yaml",
            root(
                "h2c",
                "grpc.example.com",
                "{name: grpc, port: 80, protocol: h2c}",
            ),
        ),
        (
            "app.yaml",
            root("app", "app.example.com", "{name: grpc-app, port: 80}"),
        ),
        (
            "plain.yaml",
            root("plain", "plain.example.com", "{name: grpc, port: 80}"),
        ),
    ];
    let env = Env::start(&files).await;

    // services[].protocol: h2c. A unary call and its response metadata.
    let mut client = ready_client(&env, "grpc.example.com").await;
    let r = client.say("hello through envoy").await.unwrap();
    assert_eq!(r.get_ref().message, "hello through envoy");
    assert_eq!(r.get_ref().backend, "g1");
    assert_eq!(
        r.metadata()
            .get(GRPC_BACKEND_KEY)
            .and_then(|v| v.to_str().ok()),
        Some("g1")
    );
    // A server stream: three messages, then the final status and a custom trailer.
    let (got, status) = client.count(3).await.unwrap();
    assert_eq!(got, vec![1, 2, 3]);
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert_eq!(status.message(), "counted to 3");
    assert_eq!(
        status
            .metadata()
            .get(GRPC_BACKEND_KEY)
            .and_then(|v| v.to_str().ok()),
        Some("g1"),
        "the trailer came back: {status:?}"
    );

    // appProtocol kubernetes.io/h2c on the Service port: the same without services[].protocol.
    let mut app = ready_client(&env, "app.example.com").await;
    assert_eq!(app.say("x").await.unwrap().get_ref().backend, "g2");

    // No h2c: Envoy sends HTTP/1.1 to the HTTP/2-only backend, and the call fails.
    let mut plain = GrpcClient::connect(env.ports.http, "plain.example.com")
        .await
        .unwrap();
    // (Envoy's 503 "upstream connect error or disconnect/reset" maps to UNAVAILABLE; a route
    // not yet there would be a 404, UNIMPLEMENTED.)
    let err = plain.say("x").await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
}
