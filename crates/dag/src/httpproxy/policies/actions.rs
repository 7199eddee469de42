//! Route actions and rewrites: `requestRedirectPolicy`, `directResponsePolicy`,
//! `internalRedirectPolicy`, `pathRewritePolicy.replacePrefix`, and the upstream protocol.

use contour_api::v1::{HTTPInternalRedirectPolicy, HTTPRequestRedirectPolicy, ReplacePrefix};
use k8s_openapi::api::core::v1::Service;

use crate::policy::{CrossScheme, InternalRedirectPolicy, Redirect};

/// Upstream's `redirectRoutePolicy`.
pub fn redirect(r: &HTTPRequestRedirectPolicy) -> Result<Redirect, String> {
    if r.path.is_some() && r.prefix.is_some() {
        return Err("cannot specify both redirect path and redirect prefix".into());
    }
    Ok(Redirect {
        scheme: r.scheme.clone().unwrap_or_default(),
        hostname: r.hostname.clone().unwrap_or_default(),
        port: r.port.and_then(|p| u32::try_from(p).ok()).unwrap_or(0),
        status_code: r.status_code.unwrap_or(0),
        path: r.path.clone().unwrap_or_default(),
        prefix: r.prefix.clone().unwrap_or_default(),
    })
}

/// Upstream's `internalRedirectPolicy`.
pub fn internal_redirect(p: &HTTPInternalRedirectPolicy) -> InternalRedirectPolicy {
    InternalRedirectPolicy {
        max_internal_redirects: p.max_internal_redirects.unwrap_or(0),
        redirect_response_codes: p.redirect_response_codes.clone(),
        cross_scheme: match p.allow_cross_scheme_redirect.as_deref() {
            Some("Always") => CrossScheme::Always,
            Some("SafeOnly") => CrossScheme::SafeOnly,
            _ => CrossScheme::Never,
        },
        deny_repeated_route_redirect: p.deny_repeated_route_redirect == Some(true),
    }
}

/// Upstream's `prefixReplacementsAreValid`: `(reason, message)` on failure.
pub fn check_replacements(reps: &[ReplacePrefix]) -> Result<(), (&'static str, String)> {
    let mut seen: Vec<&str> = Vec::new();
    for r in reps {
        let prefix = r.prefix.as_deref().unwrap_or_default();
        if seen.contains(&prefix) {
            if !prefix.is_empty() {
                return Err((
                    "DuplicateReplacement",
                    format!("duplicate replacement prefix '{prefix}'"),
                ));
            }
            return Err((
                "AmbiguousReplacement",
                "ambiguous prefix replacement".into(),
            ));
        }
        seen.push(prefix);
    }
    Ok(())
}

/// The replacement for a route matching `routing_prefix`: an entry for exactly that prefix,
/// else the entry without a prefix.
pub fn replacement_for<'a>(reps: &'a [ReplacePrefix], routing_prefix: &str) -> Option<&'a str> {
    let prefix_of = |r: &ReplacePrefix| r.prefix.clone().unwrap_or_default();
    reps.iter()
        .find(|r| !prefix_of(r).is_empty() && prefix_of(r) == routing_prefix)
        .or_else(|| reps.iter().find(|r| prefix_of(r).is_empty()))
        .map(|r| r.replacement.as_str())
}

/// The protocol a Service port speaks, from its `appProtocol`, else the
/// `projectcontour.io/upstream-protocol.{h2,h2c,tls}` annotations (port names or numbers).
pub fn service_protocol(svc: &Service, port: u16) -> String {
    let Some(p) = svc
        .spec
        .iter()
        .flat_map(|s| s.ports.iter().flatten())
        .find(|p| p.port == i32::from(port))
    else {
        return String::new();
    };
    if let Some(app) = &p.app_protocol {
        return match app.as_str() {
            "kubernetes.io/h2c" => "h2c",
            "https" => "tls",
            _ => "",
        }
        .to_string();
    }
    let annotations = svc.metadata.annotations.clone().unwrap_or_default();
    let mut by_port = std::collections::BTreeMap::new();
    for proto in ["h2", "h2c", "tls"] {
        let key = format!("projectcontour.io/upstream-protocol.{proto}");
        for entry in annotations
            .get(&key)
            .map(String::as_str)
            .unwrap_or("")
            .split(',')
        {
            let entry = entry.trim();
            if !entry.is_empty() {
                by_port.insert(entry.to_string(), proto);
            }
        }
    }
    let name = p.name.clone().unwrap_or_default();
    by_port
        .get(&name)
        .or_else(|| by_port.get(&port.to_string()))
        .map(|s| s.to_string())
        .unwrap_or_default()
}

/// Upstream's `getProtocol`: the route's `protocol` wins and must be one of h2, h2c, tls.
pub fn protocol(requested: Option<&str>, from_service: String) -> Result<String, String> {
    match requested {
        None => Ok(from_service),
        Some(p @ ("h2" | "h2c" | "tls")) => Ok(p.to_string()),
        Some(other) => Err(format!("unsupported protocol: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rep(prefix: Option<&str>, replacement: &str) -> ReplacePrefix {
        ReplacePrefix {
            prefix: prefix.map(str::to_string),
            replacement: replacement.into(),
        }
    }

    #[test]
    fn replacements() {
        let reps = [rep(Some("/a"), "/x"), rep(None, "/y")];
        assert_eq!(replacement_for(&reps, "/a"), Some("/x"));
        assert_eq!(replacement_for(&reps, "/b"), Some("/y"));
        assert_eq!(
            check_replacements(&[rep(Some("/a"), "/x"), rep(Some("/a"), "/y")]),
            Err((
                "DuplicateReplacement",
                "duplicate replacement prefix '/a'".into()
            ))
        );
        assert_eq!(
            check_replacements(&[rep(None, "/x"), rep(Some(""), "/y")]),
            Err((
                "AmbiguousReplacement",
                "ambiguous prefix replacement".into()
            ))
        );
    }

    #[test]
    fn redirect_path_and_prefix_conflict() {
        let r = HTTPRequestRedirectPolicy {
            path: Some("/a".into()),
            prefix: Some("/b".into()),
            ..Default::default()
        };
        assert_eq!(
            redirect(&r).unwrap_err(),
            "cannot specify both redirect path and redirect prefix"
        );
    }

    #[test]
    fn protocols() {
        let svc: Service = serde_norway::from_str(
            "metadata: {name: s, annotations: {projectcontour.io/upstream-protocol.h2c: 'grpc, 81', projectcontour.io/upstream-protocol.tls: '443'}}
spec:
  ports:
  - {name: grpc, port: 80}
  - {name: other, port: 81}
  - {name: secure, port: 443}
  - {name: app, port: 8080, appProtocol: kubernetes.io/h2c}
  - {name: web, port: 8443, appProtocol: https}
  - {name: ws, port: 9000, appProtocol: kubernetes.io/ws}
  - {name: none, port: 9001}",
        )
        .unwrap();
        for (port, want) in [
            (80, "h2c"),
            (81, "h2c"),
            (443, "tls"),
            (8080, "h2c"),
            (8443, "tls"),
            (9000, ""),
            (9001, ""),
        ] {
            assert_eq!(service_protocol(&svc, port), want, "port {port}");
        }
        assert_eq!(protocol(Some("h2"), String::new()), Ok("h2".into()));
        assert_eq!(protocol(None, "tls".into()), Ok("tls".into()));
        assert_eq!(
            protocol(Some("h3"), String::new()),
            Err("unsupported protocol: h3".into())
        );
    }
}
