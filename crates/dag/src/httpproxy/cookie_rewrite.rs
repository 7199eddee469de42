//! `cookieRewritePolicies` on routes and services.
//!
//! The values (cookie names, paths, domains) stay data all the way to Envoy: the translator
//! hands them to a fixed Lua script as per-route filter context, never as code.

use contour_api::v1::CookieRewritePolicy;

use crate::vhost_policy::CookieRewrite;

/// Validated rewrites in declaration order; the error is the text before upstream's
/// ` on route cookie rewrite rules` / ` on service cookie rewrite rules`.
pub fn cookie_rewrites(policies: &[CookieRewritePolicy]) -> Result<Vec<CookieRewrite>, String> {
    let mut out: Vec<CookieRewrite> = Vec::with_capacity(policies.len());
    for p in policies {
        if out.iter().any(|c| c.name == p.name) {
            return Err(format!(
                "duplicate cookie rewrite rule for cookie \"{}\"",
                p.name
            ));
        }
        let rewrite = CookieRewrite {
            name: p.name.clone(),
            path: p.path_rewrite.as_ref().map(|r| r.value.clone()),
            domain: p.domain_rewrite.as_ref().map(|r| r.value.clone()),
            secure: p.secure,
            same_site: p.same_site.clone(),
        };
        let nothing = rewrite.path.is_none()
            && rewrite.domain.is_none()
            && rewrite.secure.is_none()
            && rewrite.same_site.is_none();
        if nothing {
            return Err(format!("no attributes rewritten for cookie \"{}\"", p.name));
        }
        out.push(rewrite);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use contour_api::v1::{CookieDomainRewrite, CookiePathRewrite};

    use super::*;

    fn policy(name: &str, path: Option<&str>, secure: Option<bool>) -> CookieRewritePolicy {
        CookieRewritePolicy {
            name: name.into(),
            path_rewrite: path.map(|p| CookiePathRewrite { value: p.into() }),
            secure,
            ..Default::default()
        }
    }

    #[test]
    fn upstream_errors() {
        let dup = [policy("a", Some("/"), None), policy("a", None, Some(true))];
        assert_eq!(
            cookie_rewrites(&dup),
            Err("duplicate cookie rewrite rule for cookie \"a\"".into())
        );
        let empty = [policy("b", None, None)];
        assert_eq!(
            cookie_rewrites(&empty),
            Err("no attributes rewritten for cookie \"b\"".into())
        );
        let ok = [CookieRewritePolicy {
            name: "c".into(),
            domain_rewrite: Some(CookieDomainRewrite {
                value: "example.com".into(),
            }),
            ..Default::default()
        }];
        assert_eq!(
            cookie_rewrites(&ok).unwrap()[0].domain.as_deref(),
            Some("example.com")
        );
    }
}
