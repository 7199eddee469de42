//! Upstream's `expandPrefixMatches`: a prefix rewrite on `/foo` would turn `/foo/v1` into
//! `//v1` (replacement `/`) or `/foosball` into `/bar/sball` (replacement `/bar/`), so a
//! rewritten prefix that is the only route for its slash-insensitive prefix is split into a
//! `/foo` route and a `/foo/` route with matching replacements.

use std::collections::BTreeMap;

use crate::model::{PathMatch, Route};

fn group_key(path: &PathMatch) -> Option<String> {
    let PathMatch::Prefix(p) = path else {
        return None;
    };
    Some(if p == "/" {
        p.clone()
    } else {
        p.trim_end_matches('/').to_string()
    })
}

pub fn expand_prefix_matches(routes: Vec<Route>) -> Vec<Route> {
    let mut sizes: BTreeMap<String, usize> = BTreeMap::new();
    for r in &routes {
        if let Some(k) = group_key(&r.path) {
            *sizes.entry(k).or_default() += 1;
        }
    }
    let mut out = Vec::with_capacity(routes.len());
    for mut r in routes {
        let expand = match (group_key(&r.path), &r.path) {
            (Some(k), PathMatch::Prefix(p)) => {
                sizes[&k] == 1 && r.policy.prefix_rewrite.is_some() && p != "/"
            }
            _ => false,
        };
        if !expand {
            out.push(r);
            continue;
        }
        let prefix = group_key(&r.path).unwrap_or_default();
        let rewrite = r.policy.prefix_rewrite.clone().unwrap_or_default();
        let trimmed = rewrite.trim_end_matches('/').to_string();
        let mut slash = r.clone();
        slash.path = PathMatch::Prefix(format!("{prefix}/"));
        slash.policy.prefix_rewrite = Some(format!("{trimmed}/"));
        r.path = PathMatch::Prefix(prefix);
        r.policy.prefix_rewrite = Some(if trimmed.is_empty() {
            "/".into()
        } else {
            trimmed
        });
        out.push(r);
        out.push(slash);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RouteAction;

    fn route(prefix: &str, rewrite: Option<&str>) -> Route {
        let mut r = Route {
            path: PathMatch::Prefix(prefix.into()),
            action: RouteAction::DirectResponse {
                status: 200,
                body: None,
            },
            ..Default::default()
        };
        r.policy.prefix_rewrite = rewrite.map(str::to_string);
        r
    }

    fn shape(routes: &[Route]) -> Vec<(String, Option<String>)> {
        routes
            .iter()
            .map(|r| (r.path.value().to_string(), r.policy.prefix_rewrite.clone()))
            .collect()
    }

    #[test]
    fn splits_a_lone_rewritten_prefix() {
        let got = expand_prefix_matches(vec![route("/foo/", Some("/"))]);
        assert_eq!(
            shape(&got),
            vec![
                ("/foo".into(), Some("/".into())),
                ("/foo/".into(), Some("/".into()))
            ]
        );
        let got = expand_prefix_matches(vec![route("/foo", Some("/bar/"))]);
        assert_eq!(
            shape(&got),
            vec![
                ("/foo".into(), Some("/bar".into())),
                ("/foo/".into(), Some("/bar/".into()))
            ]
        );
    }

    #[test]
    fn leaves_pairs_roots_and_plain_routes() {
        let pair = vec![route("/foo", Some("/a")), route("/foo/", Some("/b"))];
        assert_eq!(shape(&expand_prefix_matches(pair.clone())), shape(&pair));
        let plain = vec![route("/", Some("/x")), route("/y", None)];
        assert_eq!(shape(&expand_prefix_matches(plain.clone())), shape(&plain));
    }
}
