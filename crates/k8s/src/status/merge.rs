//! Upstream Contour's rules for merging a computed HTTPProxy status into the stored one.
//!
//! - Conditions are merged by type; conditions of other types (set by someone else) stay.
//! - A stored condition whose `observedGeneration` is newer than ours is left alone: our
//!   observation is stale.
//! - Every condition we write gets the write's time as `lastTransitionTime`; comparisons ignore
//!   that field, so an unchanged status is never written again.
//! - `currentStatus`/`description` follow the resulting `Valid` condition: `valid` with its
//!   message; `orphaned` with the `Orphaned` error's message; otherwise `invalid` with its
//!   message.

use contour_api::v1::{DetailedCondition, HTTPProxyStatus};
use contour_dag::status::{
    STATUS_INVALID, STATUS_ORPHANED, STATUS_VALID, VALID_CONDITION, error_type,
};

/// The status to store: `desired` merged into `current`, stamped with `now` (RFC 3339).
pub fn merge_proxy_status(
    current: Option<&HTTPProxyStatus>,
    desired: &HTTPProxyStatus,
    now: &str,
) -> HTTPProxyStatus {
    let mut out = current.cloned().unwrap_or_default();
    merge_conditions(&mut out.conditions, &desired.conditions, now);
    if let Some(valid) = out.conditions.iter().find(|c| c.type_ == VALID_CONDITION) {
        let (current_status, description) = match valid.status.as_str() {
            "True" => (STATUS_VALID, valid.message.clone()),
            _ => match valid
                .errors
                .iter()
                .find(|e| e.type_ == error_type::ORPHANED)
            {
                Some(orphan) => (STATUS_ORPHANED, orphan.message.clone()),
                None => (STATUS_INVALID, valid.message.clone()),
            },
        };
        out.current_status = Some(current_status.to_string());
        out.description = Some(description);
    }
    if desired.load_balancer.is_some() {
        out.load_balancer.clone_from(&desired.load_balancer);
    }
    out
}

/// Merges `desired` into `stored` by condition type: other types stay, a stored condition with a
/// newer `observedGeneration` stays, every condition written is stamped with `now`.
pub fn merge_conditions(
    stored: &mut Vec<DetailedCondition>,
    desired: &[DetailedCondition],
    now: &str,
) {
    for cond in desired {
        let mut cond = cond.clone();
        cond.last_transition_time = Some(now.to_string());
        match stored.iter_mut().find(|c| c.type_ == cond.type_) {
            None => stored.push(cond),
            Some(old) if old.observed_generation > cond.observed_generation => {}
            Some(old) => *old = cond,
        }
    }
}

/// Condition lists equal but for `lastTransitionTime`.
pub fn same_conditions(a: &[DetailedCondition], b: &[DetailedCondition]) -> bool {
    let strip = |l: &[DetailedCondition]| {
        l.iter()
            .cloned()
            .map(|mut c| {
                c.last_transition_time = None;
                c
            })
            .collect::<Vec<_>>()
    };
    strip(a) == strip(b)
}

/// Equality that ignores `lastTransitionTime`, as upstream's no-op check does.
pub fn same_status(a: Option<&HTTPProxyStatus>, b: Option<&HTTPProxyStatus>) -> bool {
    let strip = |s: Option<&HTTPProxyStatus>| {
        s.cloned().map(|mut s| {
            for c in &mut s.conditions {
                c.last_transition_time = None;
            }
            s
        })
    };
    strip(a) == strip(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use contour_api::v1::SubCondition;
    use contour_dag::status::ORPHANED_MESSAGE;
    use contour_dag::{ProxyStatus, StatusSet};

    fn computed(generation: i64, errors: &[(&str, &str)]) -> HTTPProxyStatus {
        let mut set = StatusSet::default();
        let key = ("ns".to_string(), "p".to_string());
        set.touch(&key, Some(generation), Some("a.example.com"));
        for (t, msg) in errors {
            set.error(&key, t, "Reason", *msg);
        }
        set.proxies
            .get(&key)
            .map(ProxyStatus::to_api)
            .unwrap_or_default()
    }

    #[test]
    fn first_write_is_valid_with_a_time() {
        let out = merge_proxy_status(None, &computed(1, &[]), "2026-01-01T00:00:00Z");
        assert_eq!(out.current_status.as_deref(), Some("valid"));
        assert_eq!(out.description.as_deref(), Some("Valid HTTPProxy"));
        assert_eq!(
            out.conditions[0].last_transition_time.as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
    }

    #[test]
    fn other_condition_types_are_kept_and_unchanged_is_same() {
        let mut stored = merge_proxy_status(None, &computed(1, &[]), "t1");
        stored.conditions.push(DetailedCondition {
            type_: "Accepted".into(),
            status: "True".into(),
            reason: "Other".into(),
            ..Default::default()
        });
        let again = merge_proxy_status(Some(&stored), &computed(1, &[]), "t2");
        assert_eq!(again.conditions.len(), 2);
        assert!(
            same_status(Some(&stored), Some(&again)),
            "only the time differs"
        );
    }

    #[test]
    fn stale_observation_does_not_overwrite_newer_generation() {
        let stored = merge_proxy_status(None, &computed(5, &[]), "t1");
        let out = merge_proxy_status(Some(&stored), &computed(4, &[("SpecError", "bad")]), "t2");
        assert_eq!(out.current_status.as_deref(), Some("valid"));
        assert_eq!(out.conditions[0].observed_generation, Some(5));
    }

    #[test]
    fn orphaned_and_invalid_descriptions() {
        let orphan = computed(1, &[(error_type::ORPHANED, ORPHANED_MESSAGE)]);
        let out = merge_proxy_status(None, &orphan, "t");
        assert_eq!(out.current_status.as_deref(), Some("orphaned"));
        assert_eq!(out.description.as_deref(), Some(ORPHANED_MESSAGE));
        let invalid = computed(2, &[("VirtualHostError", "bad fqdn")]);
        let out = merge_proxy_status(Some(&out), &invalid, "t");
        assert_eq!(out.current_status.as_deref(), Some("invalid"));
        assert_eq!(
            out.description.as_deref(),
            Some(out.conditions[0].message.as_str())
        );
        assert_eq!(
            out.conditions[0].errors,
            vec![SubCondition {
                type_: "VirtualHostError".into(),
                status: "True".into(),
                reason: "Reason".into(),
                message: "bad fqdn".into()
            }]
        );
    }
}
