use contour_dag::{BuildConfig, Cache, ClassFilter, Object, Secret, SecureVirtualHost, build};

use super::*;

fn object(yaml: &str) -> Object {
    let v: serde_json::Value = serde_norway::from_str(yaml).unwrap();
    let kind = contour_dag::Kind::from_type(
        v["apiVersion"].as_str().unwrap(),
        v["kind"].as_str().unwrap(),
    )
    .unwrap();
    Object::from_json(kind, v).unwrap()
}

#[test]
fn listeners_vhosts_routes_clusters_mirrors_services() {
    let mut cache = Cache::new(ClassFilter::new(Vec::<String>::new()));
    cache.insert(object(
        "apiVersion: v1\nkind: Service\nmetadata: {name: app, namespace: default}\nspec:\n  ports: [{port: 80, name: http}]\n",
    ));
    cache.insert(object(
        "apiVersion: v1\nkind: Service\nmetadata: {name: shadow, namespace: default}\nspec:\n  ports: [{port: 80, name: http}]\n",
    ));
    cache.insert(object(
        "apiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: web, namespace: default}\nspec:\n  virtualhost: {fqdn: web.example.com}\n  routes:\n  - services: [{name: app, port: 80, weight: 3}, {name: shadow, port: 80, mirror: true}]\n  - conditions: [{prefix: '/a|b{c}'}]\n    services: [{name: missing, port: 80}]\n",
    ));
    let out = build(&cache, &BuildConfig::default());
    let dot = dag_dot(&out.dag);
    let want = r#"digraph DAG {
rankdir="LR"
"cluster/default/app/80/da39a3ee5e" [shape=record, label="{cluster|default/app/80/da39a3ee5e}"]
"cluster/default/shadow/80/da39a3ee5e" [shape=record, label="{cluster|default/shadow/80/da39a3ee5e}"]
"http/web.example.com" [shape=record, label="{http://web.example.com}"]
"http/web.example.com/route/prefix:/" [shape=record, label="{prefix: /}"]
"http/web.example.com/route/prefix:/a|b{c}" [shape=record, label="{prefix: /a\|b\{c\} → 503}"]
"listener/ingress_http" [shape=record, label="{listener|0.0.0.0:8080}"]
"service/default/app:80" [shape=record, label="{service|default/app:80}"]
"service/default/shadow:80" [shape=record, label="{service|default/shadow:80}"]
"cluster/default/app/80/da39a3ee5e" -> "service/default/app:80"
"cluster/default/shadow/80/da39a3ee5e" -> "service/default/shadow:80"
"http/web.example.com" -> "http/web.example.com/route/prefix:/"
"http/web.example.com" -> "http/web.example.com/route/prefix:/a|b{c}"
"http/web.example.com/route/prefix:/" -> "cluster/default/app/80/da39a3ee5e" [label="weight 3"]
"http/web.example.com/route/prefix:/" -> "cluster/default/shadow/80/da39a3ee5e" [label="mirror 100%"]
"listener/ingress_http" -> "http/web.example.com"
}
"#;
    assert_eq!(dot, want);
    assert_eq!(dag_dot(&out.dag), dot, "deterministic");
}

#[test]
fn secure_hosts_secrets_and_tcp_proxies() {
    let secret = Secret {
        namespace: "default".into(),
        name: "cert".into(),
        ..Default::default()
    };
    let mut svh = SecureVirtualHost::new("tls.example.com");
    svh.secret = Some(secret);
    svh.tcp_proxy = Some(contour_dag::TcpProxy { clusters: vec![] });
    let mut dag = Dag::default();
    dag.listeners.insert(
        "ingress_https".into(),
        contour_dag::Listener {
            name: "ingress_https".into(),
            address: "0.0.0.0".into(),
            port: 8443,
            secure_virtual_hosts: vec![svh.into()],
            ..Default::default()
        },
    );
    let dot = dag_dot(&dag);
    for line in [
        r#""https/tls.example.com" [shape=record, label="{https://tls.example.com}"]"#,
        r#""secret/default/cert" [shape=record, label="{secret|default/cert}"]"#,
        r#""https/tls.example.com/tcpproxy" [shape=record, label="{tcpproxy}"]"#,
        r#""listener/ingress_https" -> "https/tls.example.com""#,
        r#""https/tls.example.com" -> "secret/default/cert""#,
        r#""https/tls.example.com" -> "https/tls.example.com/tcpproxy""#,
    ] {
        assert!(dot.lines().any(|l| l == line), "missing {line}\n{dot}");
    }
}
