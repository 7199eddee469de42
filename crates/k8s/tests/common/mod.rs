//! Shared helpers: a test API server and a kube-rs client for it.
#![allow(dead_code)]

use contour_k8s::ClientOptions;
use contour_testkit::ApiServer;
use serde_json::{Value, json};

pub struct Fixture {
    pub server: ApiServer,
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Fixture {
        Self::with(ApiServer::start().expect("start the test API server"))
    }

    pub fn with(server: ApiServer) -> Fixture {
        Fixture {
            server,
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A kube-rs client whose requests carry `Bearer <user>`.
    pub async fn client(&self, user: &str) -> kube::Client {
        let path = self
            .server
            .write_kubeconfig(self.dir.path(), user)
            .expect("kubeconfig");
        contour_k8s::client(&ClientOptions {
            kubeconfig: Some(path),
            ..Default::default()
        })
        .await
        .expect("client")
    }
}

pub fn secret(ns: &str, name: &str, type_: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns},
           "type": type_, "data": {"tls.crt": "cGVt", "tls.key": "a2V5"}})
}

pub fn service(ns: &str, name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
           "spec": {"ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}})
}

pub fn proxy(ns: &str, name: &str, fqdn: &str, service: &str) -> Value {
    json!({"apiVersion": "projectcontour.io/v1", "kind": "HTTPProxy",
           "metadata": {"name": name, "namespace": ns},
           "spec": {"virtualhost": {"fqdn": fqdn}, "routes": [{"services": [{"name": service, "port": 80}]}]}})
}
