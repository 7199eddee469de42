//! CRD admission of manifests: schema defaults applied, invalid objects refused and logged,
//! a refused update leaving the last good version served.

use contour_dag::{Kind, Object};

use super::super::SourceEvent;
use super::{Fixture, Logs, key, service_yaml, write};

fn proxy_yaml(scheme: &str) -> String {
    format!(
        "apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata:
  name: web
  namespace: team
spec:
  virtualhost:
    fqdn: web.example.com
  routes:
  - conditions:
    - prefix: /
    requestRedirectPolicy:
      scheme: {scheme}
      hostname: example.org
"
    )
}

fn redirect_of(object: &Object) -> (Option<String>, Option<u32>) {
    let Object::HTTPProxy(proxy) = object else {
        panic!("not an HTTPProxy: {object:?}")
    };
    let policy = proxy.spec.routes[0]
        .request_redirect_policy
        .as_ref()
        .expect("redirect policy");
    (policy.scheme.clone(), policy.status_code)
}

#[tokio::test]
async fn httpproxy_gets_the_schema_defaults() {
    let fixture = Fixture::start(&[("proxy.yaml", &proxy_yaml("https"))]).await;
    let proxy = &fixture.state[&key(Kind::HTTPProxy, "team", "web")];
    assert_eq!(redirect_of(proxy), (Some("https".into()), Some(302)));
}

#[tokio::test]
async fn invalid_enum_is_refused_and_logged_with_file_and_document() {
    let logs = Logs::default();
    let _guard = logs.install();
    let content = format!("{}---\n{}", service_yaml("s", 80), proxy_yaml("ftp"));
    let fixture = Fixture::start(&[("app.yaml", &content)]).await;
    assert!(
        !fixture
            .state
            .contains_key(&key(Kind::HTTPProxy, "team", "web"))
    );
    assert!(fixture.state.contains_key(&super::svc("s")));
    let text = logs.text();
    let line = text
        .lines()
        .find(|l| l.contains("skipping invalid manifest"))
        .expect(&text);
    assert!(
        line.contains(&format!("file={}", fixture.path("app.yaml").display())),
        "{line}"
    );
    assert!(line.contains("document=2"), "{line}");
    assert!(line.contains("line=9"), "{line}");
    assert!(
        line.contains("scheme"),
        "the reason names the field: {line}"
    );
}

#[tokio::test]
async fn refused_update_keeps_the_last_good_version() {
    let logs = Logs::default();
    let _guard = logs.install();
    let mut fixture = Fixture::start(&[("proxy.yaml", &proxy_yaml("https"))]).await;
    let before = fixture.state.clone();
    write(&fixture.path("proxy.yaml"), &proxy_yaml("ftp"));
    assert_eq!(fixture.settle().await, vec![]);
    assert_eq!(fixture.state, before);
    assert!(
        logs.text().contains("keeping the last good version"),
        "{}",
        logs.text()
    );

    write(&fixture.path("proxy.yaml"), &proxy_yaml("http"));
    let event = fixture.change().await;
    let SourceEvent::Upsert(proxy) = event else {
        panic!("{event:?}")
    };
    assert_eq!(redirect_of(&proxy), (Some("http".into()), Some(302)));
}
