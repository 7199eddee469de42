//! The counts behind the HTTPProxy gauges, computed from a build's statuses without touching
//! the gauges: a route change leaves them equal, and then nothing is set.

use foldhash::HashMap;

use contour_dag::StatusSet;

type Counts<K> = HashMap<K, i64>;

/// Per namespace, or per namespace and virtual host, what upstream's HTTPProxy gauges count:
/// borrowed from a build's statuses (`K = &str`) or kept as shown (`K = String`).
#[derive(Debug, Default)]
pub(super) struct ProxyCounts<K> {
    pub all: Counts<K>,
    pub roots: Counts<K>,
    pub orphaned: Counts<K>,
    pub valid: HashMap<K, Counts<K>>,
    pub invalid: HashMap<K, Counts<K>>,
}

impl<'a> ProxyCounts<&'a str> {
    /// Counts every proxy with a status; `roots` gives the namespace of every root (each root
    /// has a status: a build touches every root it groups by FQDN).
    pub fn of(status: &'a StatusSet, roots: impl Iterator<Item = &'a str>) -> Self {
        let mut c = ProxyCounts::default();
        for ns in roots {
            *c.roots.entry(ns).or_default() += 1;
        }
        for (key, st) in &status.proxies {
            let ns = key.0.as_str();
            *c.all.entry(ns).or_default() += 1;
            if st.is_orphaned() {
                *c.orphaned.entry(ns).or_default() += 1;
                continue;
            }
            let by_vhost = if st.is_valid() {
                &mut c.valid
            } else {
                &mut c.invalid
            };
            let vhost = st.vhost.as_deref().unwrap_or_default();
            *by_vhost.entry(ns).or_default().entry(vhost).or_default() += 1;
        }
        c
    }

    /// Whether `shown` holds the same counts (nothing copied).
    pub fn same_as(&self, shown: &ProxyCounts<String>) -> bool {
        same(&self.all, &shown.all)
            && same(&self.roots, &shown.roots)
            && same(&self.orphaned, &shown.orphaned)
            && same_nested(&self.valid, &shown.valid)
            && same_nested(&self.invalid, &shown.invalid)
    }

    pub fn to_owned(&self) -> ProxyCounts<String> {
        ProxyCounts {
            all: owned(&self.all),
            roots: owned(&self.roots),
            orphaned: owned(&self.orphaned),
            valid: owned_nested(&self.valid),
            invalid: owned_nested(&self.invalid),
        }
    }
}

fn same<V: PartialEq>(new: &HashMap<&str, V>, shown: &HashMap<String, V>) -> bool {
    new.len() == shown.len() && new.iter().all(|(k, v)| shown.get(*k) == Some(v))
}

fn same_nested(new: &HashMap<&str, Counts<&str>>, shown: &HashMap<String, Counts<String>>) -> bool {
    new.len() == shown.len()
        && new
            .iter()
            .all(|(k, v)| shown.get(*k).is_some_and(|s| same(v, s)))
}

fn owned<V: Clone>(m: &HashMap<&str, V>) -> HashMap<String, V> {
    m.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

fn owned_nested(m: &HashMap<&str, Counts<&str>>) -> HashMap<String, Counts<String>> {
    m.iter().map(|(k, v)| (k.to_string(), owned(v))).collect()
}

#[cfg(test)]
mod tests {
    use contour_dag::StatusSet;
    use contour_dag::status::{ORPHANED_MESSAGE, error_type};

    use crate::metrics::Metrics;

    fn key(ns: &str, name: &str) -> (String, String) {
        (ns.to_string(), name.to_string())
    }

    /// The HTTPProxy lines of `/metrics`, sorted.
    fn proxy_lines(m: &Metrics) -> Vec<String> {
        let mut lines: Vec<String> = m
            .encode()
            .lines()
            .filter(|l| l.starts_with("contour_httpproxy"))
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    }

    fn statuses(child_valid: bool) -> StatusSet {
        let mut s = StatusSet::default();
        s.touch(&key("a", "root"), Some(1), Some("a.example.com"));
        s.touch(&key("a", "child"), Some(1), Some("a.example.com"));
        if !child_valid {
            s.error(&key("a", "child"), error_type::ROUTE, "R", "bad");
        }
        s.touch(&key("b", "lost"), Some(1), None);
        s.error(
            &key("b", "lost"),
            error_type::ORPHANED,
            "Orphaned",
            ORPHANED_MESSAGE,
        );
        s
    }

    #[test]
    fn gauges_count_per_namespace_and_host_and_follow_changes() {
        let m = Metrics::new();
        let roots = || ["a"].into_iter();
        m.record_statuses(&statuses(true), roots());
        let first = proxy_lines(&m);
        assert_eq!(
            first,
            [
                "contour_httpproxy_orphaned{namespace=\"b\"} 1",
                "contour_httpproxy_root{namespace=\"a\"} 1",
                "contour_httpproxy_valid{namespace=\"a\",vhost=\"a.example.com\"} 2",
                "contour_httpproxy{namespace=\"a\"} 2",
                "contour_httpproxy{namespace=\"b\"} 1",
            ]
        );
        // The same counts again: nothing moves.
        m.record_statuses(&statuses(true), roots());
        assert_eq!(proxy_lines(&m), first);
        // The child turns invalid: it leaves the valid count for the invalid one.
        m.record_statuses(&statuses(false), roots());
        let after = proxy_lines(&m);
        assert!(after.contains(
            &"contour_httpproxy_invalid{namespace=\"a\",vhost=\"a.example.com\"} 1".to_string()
        ));
        assert!(after.contains(
            &"contour_httpproxy_valid{namespace=\"a\",vhost=\"a.example.com\"} 1".to_string()
        ));
        // Every proxy gone: no series left.
        m.record_statuses(&StatusSet::default(), std::iter::empty());
        assert!(proxy_lines(&m).is_empty());
    }
}
