//! Status computed by a build: data returned with the DAG and written later (by the status
//! writer in Kubernetes mode, or served at `/debug/status`).
//!
//! Condition types, reasons and messages are upstream Contour's, kept here in one place.

use std::collections::BTreeMap;

use contour_api::v1::{DetailedCondition, HTTPProxyStatus, SubCondition};

/// The only condition type Contour sets on an HTTPProxy.
pub const VALID_CONDITION: &str = "Valid";
pub const VALID_MESSAGE: &str = "Valid HTTPProxy";
pub const EXTENSION_VALID_MESSAGE: &str = "Valid ExtensionService";
pub const ERROR_PRESENT_REASON: &str = "ErrorPresent";
pub const ERROR_PRESENT_MESSAGE: &str = "At least one error present, see Errors for details";
pub const ORPHANED_MESSAGE: &str =
    "this HTTPProxy is not part of a delegation chain from a root HTTPProxy";

/// `status.currentStatus` values.
pub const STATUS_VALID: &str = "valid";
pub const STATUS_INVALID: &str = "invalid";
pub const STATUS_ORPHANED: &str = "orphaned";

/// Error sub-condition types (`errors[].type`).
pub mod error_type {
    pub const CORS: &str = "CORSError";
    pub const IP_FILTER: &str = "IPFilterError";
    pub const INCLUDE: &str = "IncludeError";
    pub const ORPHANED: &str = "Orphaned";
    pub const PREFIX_REPLACE: &str = "PrefixReplaceError";
    pub const ROOT_NAMESPACE: &str = "RootNamespaceError";
    pub const ROUTE: &str = "RouteError";
    pub const SERVICE: &str = "ServiceError";
    pub const SPEC: &str = "SpecError";
    pub const VIRTUAL_HOST: &str = "VirtualHostError";
    pub const TLS: &str = "TLSError";
    pub const TCP_PROXY: &str = "TCPProxyError";
    pub const TCP_PROXY_INCLUDE: &str = "TCPProxyIncludeError";
}

/// Appends a sub-condition (`status: True`) unless the same one is already there.
fn push_sub(list: &mut Vec<SubCondition>, type_: &str, reason: &str, message: String) {
    let sub = SubCondition {
        type_: type_.to_string(),
        status: "True".to_string(),
        reason: reason.to_string(),
        message,
    };
    if !list.contains(&sub) {
        list.push(sub);
    }
}

/// The `Valid` condition in upstream's shape: True with `valid_message`, or False with
/// `ErrorPresent` when there are errors. `lastTransitionTime` is left to the writer, so that the
/// build stays deterministic.
fn valid_condition(
    generation: Option<i64>,
    errors: &[SubCondition],
    warnings: &[SubCondition],
    valid_message: &str,
) -> DetailedCondition {
    let (status, reason, message) = if errors.is_empty() {
        ("True", "Valid", valid_message)
    } else {
        ("False", ERROR_PRESENT_REASON, ERROR_PRESENT_MESSAGE)
    };
    DetailedCondition {
        type_: VALID_CONDITION.to_string(),
        status: status.to_string(),
        observed_generation: generation,
        reason: reason.to_string(),
        message: message.to_string(),
        errors: errors.to_vec(),
        warnings: warnings.to_vec(),
        ..Default::default()
    }
}

/// `(namespace, name)` of an HTTPProxy.
pub type ProxyKey = (String, String);

/// Every HTTPProxy's status by key, in no particular order.
pub type ProxyStatuses = foldhash::HashMap<ProxyKey, ProxyStatus>;

/// What one build found out about one HTTPProxy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProxyStatus {
    pub generation: Option<i64>,
    /// The FQDN of the root this proxy serves under, when known (metrics label `vhost`).
    pub vhost: Option<String>,
    pub errors: Vec<SubCondition>,
    pub warnings: Vec<SubCondition>,
}

impl ProxyStatus {
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn is_orphaned(&self) -> bool {
        self.errors.iter().any(|e| e.type_ == error_type::ORPHANED)
    }

    /// The status in upstream's shape. `lastTransitionTime` is left to the writer, so that the
    /// build stays deterministic.
    pub fn to_api(&self) -> HTTPProxyStatus {
        let (current, description) = if self.is_valid() {
            (STATUS_VALID, VALID_MESSAGE)
        } else if self.is_orphaned() {
            (STATUS_ORPHANED, ORPHANED_MESSAGE)
        } else {
            (STATUS_INVALID, ERROR_PRESENT_MESSAGE)
        };
        HTTPProxyStatus {
            current_status: Some(current.to_string()),
            description: Some(description.to_string()),
            conditions: vec![valid_condition(
                self.generation,
                &self.errors,
                &self.warnings,
                VALID_MESSAGE,
            )],
            ..Default::default()
        }
    }
}

/// What one build found out about one ExtensionService: its `Valid` condition.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExtensionStatus {
    pub generation: Option<i64>,
    pub errors: Vec<SubCondition>,
    pub warnings: Vec<SubCondition>,
}

impl ExtensionStatus {
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// Adds an error sub-condition; an ExtensionService with errors gets no cluster.
    pub fn error(&mut self, type_: &str, reason: &str, message: impl Into<String>) {
        push_sub(&mut self.errors, type_, reason, message.into());
    }

    pub fn warning(&mut self, type_: &str, reason: &str, message: impl Into<String>) {
        push_sub(&mut self.warnings, type_, reason, message.into());
    }

    /// The `Valid` condition in upstream's shape (`lastTransitionTime` is the writer's).
    pub fn to_condition(&self) -> DetailedCondition {
        valid_condition(
            self.generation,
            &self.errors,
            &self.warnings,
            EXTENSION_VALID_MESSAGE,
        )
    }
}

/// A [`StatusSet`] kept for later merging ([`StatusSet::compact`]), in key order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompactStatus {
    proxies: Box<[(ProxyKey, ProxyStatus)]>,
    extensions: Box<[((String, String), ExtensionStatus)]>,
}

/// Statuses of one build.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusSet {
    /// By key, in no particular order ([`Self::sorted_proxies`] for the key order): a build
    /// touches every proxy and a hash lookup is cheaper than a search by two strings.
    pub proxies: ProxyStatuses,
    /// Every cached ExtensionService, by `(namespace, name)`.
    pub extensions: BTreeMap<(String, String), ExtensionStatus>,
}

impl StatusSet {
    fn entry(&mut self, key: &ProxyKey) -> &mut ProxyStatus {
        // The key is copied only for a new entry: a build touches most proxies twice.
        if !self.proxies.contains_key(key) {
            self.proxies.insert(key.clone(), ProxyStatus::default());
        }
        self.proxies.get_mut(key).expect("inserted above")
    }

    /// The proxies' statuses in key order.
    pub fn sorted_proxies(&self) -> Vec<(&ProxyKey, &ProxyStatus)> {
        let mut all: Vec<_> = self.proxies.iter().collect();
        all.sort_unstable_by(|a, b| a.0.cmp(b.0));
        all
    }

    /// Room for `n` proxies (a build touches every cached proxy).
    pub fn reserve(&mut self, n: usize) {
        self.proxies.reserve(n);
    }

    /// Records that the proxy was looked at (valid unless an error is added).
    pub fn touch(&mut self, key: &ProxyKey, generation: Option<i64>, vhost: Option<&str>) {
        let e = self.entry(key);
        e.generation = generation;
        if e.vhost.is_none() {
            e.vhost = vhost.map(str::to_string);
        }
    }

    /// Adds an error sub-condition; a proxy with errors is invalid.
    pub fn error(&mut self, key: &ProxyKey, type_: &str, reason: &str, message: impl Into<String>) {
        push_sub(&mut self.entry(key).errors, type_, reason, message.into());
    }

    /// Adds a warning sub-condition; warnings do not make a proxy invalid.
    pub fn warning(
        &mut self,
        key: &ProxyKey,
        type_: &str,
        reason: &str,
        message: impl Into<String>,
    ) {
        push_sub(&mut self.entry(key).warnings, type_, reason, message.into());
    }

    /// Applies what `later` recorded (from an empty set) as if its calls had been made on this
    /// set after the ones already made: generations and errors follow, the first vhost stays.
    /// Every touch of one proxy in one build carries that proxy's generation, so an entry
    /// `later` only added errors to (generation `None`) keeps this set's.
    pub fn merge(&mut self, later: &StatusSet) {
        self.merge_proxies(&later.proxies);
        for (key, st) in &later.extensions {
            self.extensions.insert(key.clone(), st.clone());
        }
    }

    /// [`Self::merge`] of what [`Self::compact`] kept.
    pub fn merge_compact(&mut self, later: &CompactStatus) {
        self.merge_proxies(later.proxies.iter().map(|(k, s)| (k, s)));
        for (key, st) in later.extensions.iter() {
            self.extensions.insert(key.clone(), st.clone());
        }
    }

    /// The same statuses in a form that costs what it holds: a set kept for long (a memo of the
    /// incremental build) mostly has one or two proxies, and a B-tree leaf holds eleven.
    pub fn compact(self) -> CompactStatus {
        let mut proxies: Vec<_> = self.proxies.into_iter().collect();
        proxies.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        CompactStatus {
            proxies: proxies.into(),
            extensions: self.extensions.into_iter().collect(),
        }
    }

    fn merge_proxies<'a>(
        &mut self,
        later: impl IntoIterator<Item = (&'a ProxyKey, &'a ProxyStatus)>,
    ) {
        for (key, st) in later {
            let e = self.entry(key);
            if st.generation.is_some() {
                e.generation = st.generation;
            }
            if e.vhost.is_none() {
                e.vhost.clone_from(&st.vhost);
            }
            for sub in &st.errors {
                push_sub(&mut e.errors, &sub.type_, &sub.reason, sub.message.clone());
            }
            for sub in &st.warnings {
                push_sub(
                    &mut e.warnings,
                    &sub.type_,
                    &sub.reason,
                    sub.message.clone(),
                );
            }
        }
    }

    pub fn has_errors(&self, key: &ProxyKey) -> bool {
        self.proxies.get(key).is_some_and(|s| !s.is_valid())
    }

    pub fn get(&self, ns: &str, name: &str) -> Option<&ProxyStatus> {
        self.proxies.get(&(ns.to_string(), name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_a_compacted_set_equals_merging_the_set() {
        let key = |n: &str| ("ns".to_string(), n.to_string());
        let mut earlier = StatusSet::default();
        earlier.touch(&key("a"), Some(1), Some("a.example.com"));
        earlier.error(&key("a"), error_type::ROUTE, "R", "first");
        let mut later = StatusSet::default();
        later.touch(&key("a"), Some(2), Some("other.example.com"));
        later.error(&key("a"), error_type::ROUTE, "R", "first");
        later.warning(&key("b"), error_type::SPEC, "W", "ignored");
        later.error(&key("c"), error_type::INCLUDE, "I", "missing");
        later
            .extensions
            .insert(key("x"), ExtensionStatus::default());
        let mut plain = earlier.clone();
        plain.merge(&later);
        let mut compacted = earlier;
        compacted.merge_compact(&later.compact());
        assert_eq!(plain, compacted);
        assert_eq!(plain.proxies[&key("a")].generation, Some(2));
        assert_eq!(plain.proxies[&key("a")].errors.len(), 1);
    }
}
