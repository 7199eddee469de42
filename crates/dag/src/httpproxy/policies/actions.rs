//! Route actions and rewrites: `requestRedirectPolicy`, `directResponsePolicy`,
//! `internalRedirectPolicy` and `pathRewritePolicy.replacePrefix`.

use contour_api::v1::{HTTPInternalRedirectPolicy, HTTPRequestRedirectPolicy, ReplacePrefix};

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
}
