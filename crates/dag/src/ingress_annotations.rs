//! Ingress annotations that become route policy (upstream's `internal/annotation`):
//! `projectcontour.io/response-timeout` (legacy `request-timeout`), `retry-on`, `num-retries`,
//! `per-try-timeout` and `websocket-routes`. Bad values are logged and left out, as upstream.

use k8s_openapi::api::networking::v1::Ingress;
use tracing::warn;

use crate::duration::Timeout;
use crate::policy::{RetryPolicy, RoutePolicy};

fn contour_annotation<'a>(ing: &'a Ingress, name: &str) -> Option<&'a str> {
    let annotations = ing.metadata.annotations.as_ref()?;
    annotations
        .get(&format!("projectcontour.io/{name}"))
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// The route policy the annotations give the route for Ingress path `path` (as written).
pub fn route_policy(ing: &Ingress, path: &str) -> RoutePolicy {
    RoutePolicy {
        response_timeout: response_timeout(ing),
        retry: retry_policy(ing).map(Box::new),
        websocket: websocket_routes(ing).any(|p| p == path),
        ..Default::default()
    }
}

fn log_bad(ing: &Ingress, annotation: &str, error: &dyn std::fmt::Display) {
    let ns = ing.metadata.namespace.as_deref().unwrap_or_default();
    let name = ing.metadata.name.as_deref().unwrap_or_default();
    warn!(kind = "Ingress", namespace = ns, name, annotation, error = %error,
          "ignoring Ingress annotation: bad value");
}

/// `response-timeout`, else the legacy `request-timeout`; unparsable → Envoy's default.
pub fn response_timeout(ing: &Ingress) -> Timeout {
    let Some(value) = contour_annotation(ing, "response-timeout")
        .or_else(|| contour_annotation(ing, "request-timeout"))
    else {
        return Timeout::Default;
    };
    Timeout::parse(value).unwrap_or_else(|e| {
        log_bad(ing, "projectcontour.io/response-timeout", &e.0);
        Timeout::Default
    })
}

/// A retry policy when `retry-on` is set.
pub fn retry_policy(ing: &Ingress) -> Option<RetryPolicy> {
    let retry_on = contour_annotation(ing, "retry-on")?;
    let per_try_timeout = match contour_annotation(ing, "per-try-timeout") {
        None => Timeout::Default,
        Some(v) => Timeout::parse(v).unwrap_or_else(|e| {
            log_bad(ing, "projectcontour.io/per-try-timeout", &e.0);
            Timeout::Default
        }),
    };
    Some(RetryPolicy {
        retry_on: retry_on.to_string(),
        num_retries: num_retries(contour_annotation(ing, "num-retries")),
        per_try_timeout,
        ..Default::default()
    })
}

/// Upstream's mapping: -1 → 0 retries; unset, 0, 1 or another negative → 1; else the value.
pub fn num_retries(value: Option<&str>) -> u32 {
    let n: i32 = value.and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    match n {
        -1 => 0,
        n if n <= 1 => 1,
        n => n.unsigned_abs(),
    }
}

/// The comma-separated exact paths of `websocket-routes`.
fn websocket_routes(ing: &Ingress) -> impl Iterator<Item = &str> {
    contour_annotation(ing, "websocket-routes")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ingress(annotations: &[(&str, &str)]) -> Ingress {
        let map: serde_json::Map<String, serde_json::Value> = annotations
            .iter()
            .map(|(k, v)| (format!("projectcontour.io/{k}"), (*v).into()))
            .collect();
        serde_json::from_value(serde_json::json!({"metadata": {"name": "i", "annotations": map}}))
            .unwrap()
    }

    #[test]
    fn num_retries_as_upstream() {
        for (input, want) in [
            (None, 1),
            (Some("0"), 1),
            (Some("1"), 1),
            (Some("-1"), 0),
            (Some("-5"), 1),
            (Some("7"), 7),
            (Some("x"), 1),
        ] {
            assert_eq!(num_retries(input), want, "{input:?}");
        }
    }

    #[test]
    fn annotations_become_route_policy() {
        let ing = ingress(&[
            ("response-timeout", "5s"),
            ("retry-on", "5xx,gateway-error"),
            ("num-retries", "3"),
            ("per-try-timeout", "250ms"),
            ("websocket-routes", "/ws , /chat"),
        ]);
        let p = route_policy(&ing, "/chat");
        assert_eq!(
            p.response_timeout,
            Timeout::Duration(Duration::from_secs(5))
        );
        let retry = p.retry.unwrap();
        assert_eq!(retry.retry_on, "5xx,gateway-error");
        assert_eq!(retry.num_retries, 3);
        assert_eq!(
            retry.per_try_timeout,
            Timeout::Duration(Duration::from_millis(250))
        );
        assert!(p.websocket);
        assert!(!route_policy(&ing, "/other").websocket);
    }

    #[test]
    fn legacy_request_timeout_and_bad_values() {
        let ing = ingress(&[("request-timeout", "infinity")]);
        assert_eq!(response_timeout(&ing), Timeout::Disabled);
        let ing = ingress(&[
            ("response-timeout", "soon"),
            ("per-try-timeout", "x"),
            ("retry-on", "5xx"),
        ]);
        assert_eq!(response_timeout(&ing), Timeout::Default);
        assert_eq!(
            retry_policy(&ing).unwrap().per_try_timeout,
            Timeout::Default
        );
        assert_eq!(retry_policy(&ingress(&[])), None);
    }
}
