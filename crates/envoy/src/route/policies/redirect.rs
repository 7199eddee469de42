//! `requestRedirectPolicy` → Envoy redirect action.

use contour_dag::Redirect;
use envoy_types::pb::envoy::config::route::v3::{RedirectAction, redirect_action, route};

/// Host, scheme, port, path or prefix, and the status code (Envoy's default 301 when unset or
/// unknown).
pub fn redirect_action(r: &Redirect) -> route::Action {
    use redirect_action::{
        PathRewriteSpecifier as P, RedirectResponseCode as C, SchemeRewriteSpecifier as S,
    };
    let response_code = match r.status_code {
        302 => C::Found,
        303 => C::SeeOther,
        307 => C::TemporaryRedirect,
        308 => C::PermanentRedirect,
        _ => C::MovedPermanently,
    };
    let path = if !r.path.is_empty() {
        Some(P::PathRedirect(r.path.clone()))
    } else if !r.prefix.is_empty() {
        Some(P::PrefixRewrite(r.prefix.clone()))
    } else {
        None
    };
    route::Action::Redirect(RedirectAction {
        host_redirect: r.hostname.clone(),
        port_redirect: r.port,
        response_code: response_code as i32,
        scheme_rewrite_specifier: (!r.scheme.is_empty())
            .then(|| S::SchemeRedirect(r.scheme.clone())),
        path_rewrite_specifier: path,
        ..Default::default()
    })
}
