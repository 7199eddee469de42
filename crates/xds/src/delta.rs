//! Incremental (delta) xDS protocol core: a state machine without I/O.
//!
//! One [`DeltaStream`] per gRPC stream, possibly carrying several types (ADS). Per type it
//! tracks the subscription (explicit names, plus wildcard) and what the client has (name →
//! version), seeded from `initial_resource_versions` and updated by every response sent.
//!
//! Rules, per type:
//! - the first request subscribes; an empty subscribe list means wildcard for LDS and CDS,
//!   `*` means wildcard for any type; the first request is always answered once the snapshot
//!   is ready, even with nothing in it, so Envoy finishes its initial fetch;
//! - a response carries only resources whose version differs from what the client has, and
//!   `removed_resources` for subscribed names the client has that no longer exist; a newly
//!   subscribed name that does not exist is reported as removed once, so Envoy stops waiting;
//! - a request with a `response_nonce` is an ACK, or a NACK when `error_detail` is set; the
//!   client-side state is assumed to be what we sent, so rejected content is not re-sent until
//!   it changes;
//! - `resource_names_subscribe`/`_unsubscribe` change the subscription at any time (also in
//!   ACKs); unsubscribed names are forgotten, a later subscribe sends them again.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use std::sync::Arc;

use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, Resource,
};

use crate::sotw::{Feedback, Output};
use crate::store::{Snapshot, VersionedResource};
use crate::type_url;

/// One resource of a delta response: its name, and the snapshot's own resource (shared).
#[derive(Debug, Clone, PartialEq)]
pub struct DeltaResource {
    pub name: String,
    pub resource: Arc<VersionedResource>,
}

/// A `DeltaDiscoveryResponse` whose resources are the snapshot's own (shared, not copied).
#[derive(Debug, Clone, PartialEq)]
pub struct DeltaResponse {
    pub system_version_info: String,
    pub resources: Vec<DeltaResource>,
    pub type_url: String,
    pub nonce: String,
    pub removed_resources: Vec<String>,
}

impl DeltaResponse {
    /// The protobuf message (a copy of every resource; for tests and tools).
    pub fn to_message(&self) -> DeltaDiscoveryResponse {
        DeltaDiscoveryResponse {
            system_version_info: self.system_version_info.clone(),
            resources: self
                .resources
                .iter()
                .map(|d| Resource {
                    name: d.name.clone(),
                    version: d.resource.version.clone(),
                    resource: Some(d.resource.resource()),
                    ..Default::default()
                })
                .collect(),
            type_url: self.type_url.clone(),
            nonce: self.nonce.clone(),
            removed_resources: self.removed_resources.clone(),
            ..Default::default()
        }
    }
}

/// How many sent nonces are remembered to attach versions to ACK/NACK events.
const REMEMBERED_NONCES: usize = 256;

#[derive(Debug)]
struct TypeState {
    wildcard: bool,
    names: BTreeSet<String>,
    /// What the client has: name → version.
    client_has: BTreeMap<String, String>,
    /// Newly subscribed names to report as removed if they do not exist.
    announce_missing: BTreeSet<String>,
    /// The first request has not been answered yet.
    must_reply: bool,
    /// The type version last evaluated with no request since; nothing can have changed.
    seen: Option<String>,
}

impl TypeState {
    fn new(type_url: &str, req: &DeltaDiscoveryRequest) -> Self {
        let wildcard = req.resource_names_subscribe.iter().any(|n| n == "*")
            || (req.resource_names_subscribe.is_empty() && type_url::is_wildcard_type(type_url));
        Self {
            wildcard,
            names: BTreeSet::new(),
            client_has: sorted(&req.initial_resource_versions),
            announce_missing: BTreeSet::new(),
            must_reply: true,
            seen: None,
        }
    }

    fn subscribed(&self, name: &str) -> bool {
        self.wildcard || self.names.contains(name)
    }

    fn apply(&mut self, req: &DeltaDiscoveryRequest) {
        self.seen = None;
        for name in &req.resource_names_subscribe {
            if name == "*" {
                self.wildcard = true;
            } else if self.names.insert(name.clone()) {
                self.announce_missing.insert(name.clone());
            }
        }
        for name in &req.resource_names_unsubscribe {
            if name == "*" {
                self.wildcard = false;
                continue;
            }
            self.names.remove(name);
            self.announce_missing.remove(name);
            if !self.wildcard {
                self.client_has.remove(name);
            }
        }
        if !self.wildcard {
            let names = &self.names;
            self.client_has.retain(|n, _| names.contains(n));
        }
    }
}

fn sorted(map: &HashMap<String, String>) -> BTreeMap<String, String> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The delta state of one gRPC stream.
#[derive(Debug, Default)]
pub struct DeltaStream {
    next_nonce: u64,
    node: String,
    types: BTreeMap<String, TypeState>,
    /// nonce → version of the responses sent, for ACK/NACK events.
    sent: BTreeMap<u64, String>,
}

impl DeltaStream {
    pub fn new() -> Self {
        Self::default()
    }

    /// The node ID the client sent (usually only on its first request), or "".
    pub fn node_id(&self) -> &str {
        &self.node
    }

    /// Handles one request from the client.
    pub fn on_request(
        &mut self,
        req: &DeltaDiscoveryRequest,
        snap: &Snapshot,
    ) -> Output<DeltaResponse> {
        if let Some(node) = req.node.as_ref().filter(|n| !n.id.is_empty()) {
            self.node = node.id.clone();
        }
        let feedback = self.feedback_for(req);
        self.types
            .entry(req.type_url.clone())
            .or_insert_with(|| TypeState::new(&req.type_url, req))
            .apply(req);
        let responses = self.respond(&req.type_url, snap).into_iter().collect();
        Output {
            responses,
            feedback,
        }
    }

    /// Handles a snapshot change: one response per type whose subscribed content changed.
    pub fn on_snapshot(&mut self, snap: &Snapshot) -> Vec<DeltaResponse> {
        let mut order: Vec<String> = type_url::ALL
            .iter()
            .filter(|t| self.types.contains_key(**t))
            .map(|t| t.to_string())
            .collect();
        order.extend(
            self.types
                .keys()
                .filter(|t| !type_url::ALL.contains(&t.as_str()))
                .cloned(),
        );
        order.iter().filter_map(|t| self.respond(t, snap)).collect()
    }

    fn feedback_for(&mut self, req: &DeltaDiscoveryRequest) -> Option<Feedback> {
        if req.response_nonce.is_empty() {
            return None;
        }
        let version = req
            .response_nonce
            .parse::<u64>()
            .ok()
            .and_then(|n| self.sent.remove(&n))
            .unwrap_or_default();
        let type_url = req.type_url.clone();
        let nonce = req.response_nonce.clone();
        Some(match &req.error_detail {
            Some(status) => Feedback::Nack {
                type_url,
                version,
                nonce,
                message: status.message.clone(),
            },
            None => Feedback::Ack {
                type_url,
                version,
                nonce,
            },
        })
    }

    fn respond(&mut self, type_url: &str, snap: &Snapshot) -> Option<DeltaResponse> {
        if !snap.is_ready() {
            return None;
        }
        let state = self.types.get_mut(type_url)?;
        let typ = snap.get(type_url);
        if state.seen.as_deref() == Some(typ.version()) {
            return None;
        }
        state.seen = Some(typ.version().to_string());
        let mut resources = Vec::new();
        for (name, res) in typ.resources() {
            if state.subscribed(name) && state.client_has.get(name) != Some(&res.version) {
                state.client_has.insert(name.clone(), res.version.clone());
                resources.push(DeltaResource {
                    name: name.clone(),
                    resource: Arc::clone(res),
                });
            }
        }
        let mut removed: BTreeSet<String> = state
            .client_has
            .keys()
            .filter(|n| typ.get(n).is_none())
            .cloned()
            .collect();
        state.client_has.retain(|n, _| !removed.contains(n));
        let missing = std::mem::take(&mut state.announce_missing);
        removed.extend(missing.into_iter().filter(|n| typ.get(n).is_none()));
        if resources.is_empty() && removed.is_empty() && !state.must_reply {
            return None;
        }
        state.must_reply = false;
        self.next_nonce += 1;
        self.sent.insert(self.next_nonce, typ.version().to_string());
        while self.sent.len() > REMEMBERED_NONCES {
            self.sent.pop_first();
        }
        Some(DeltaResponse {
            system_version_info: typ.version().to_string(),
            resources,
            type_url: type_url.to_string(),
            removed_resources: removed.into_iter().collect(),
            nonce: self.next_nonce.to_string(),
        })
    }
}

#[cfg(test)]
mod tests;
