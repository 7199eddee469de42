//! State-of-the-world xDS protocol core: a state machine without I/O.
//!
//! One [`SotwStream`] per gRPC stream; it may carry several types (ADS) or one (per-type
//! services). Inputs are client requests ([`SotwStream::on_request`]) and snapshot changes
//! ([`SotwStream::on_snapshot`]); outputs are the responses to send plus ACK/NACK feedback.
//!
//! Rules, per type:
//! - the first request subscribes: wildcard when it names nothing or names `*`, otherwise the
//!   listed names; it is answered as soon as the snapshot is ready (even with no resources);
//! - a request carrying the nonce of the last response is an ACK (or a NACK when it has an
//!   `error_detail`); either way the response is no longer pending;
//! - a repeated request without a nonce for a type the stream already has is answered only
//!   when its resource names differ (an identical request never triggers a response);
//! - a request carrying an older nonce is stale and ignored, unless its resource names differ
//!   from the current subscription: then it is a new subscription and is answered at once
//!   (after a CDS change Envoy asks for the new EDS names with an old nonce);
//! - at most one response per type is un-ACKed: a snapshot change that arrives meanwhile is
//!   sent when the ACK or NACK comes back, so Envoy always converges on the newest content;
//! - a response is sent only when the content *this stream* sees changed: all resources for a
//!   wildcard subscription, only the subscribed resources that exist for a named one;
//! - after a NACK nothing is re-sent until the content changes (Envoy keeps its last good config).

use std::borrow::Cow;
use std::sync::Arc;

use envoy_types::pb::envoy::service::discovery::v3::{DiscoveryRequest, DiscoveryResponse};

use crate::store::{Snapshot, TypeSnapshot, VersionedResource};
use crate::type_url;

/// A `DiscoveryResponse` whose resources are the snapshot's own (shared, not copied).
#[derive(Debug, Clone, PartialEq)]
pub struct SotwResponse {
    pub version_info: String,
    pub resources: Carried,
    pub type_url: String,
    pub nonce: String,
}

/// The resources a response carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Carried {
    /// The whole type (a wildcard subscription), sent from the type's shared encoding.
    All(Arc<TypeSnapshot>),
    /// The subscribed resources that exist, in name order.
    Named(Vec<Arc<VersionedResource>>),
}

impl Carried {
    /// The resources, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<VersionedResource>> {
        let (all, named) = match self {
            Carried::All(typ) => (Some(typ), &[][..]),
            Carried::Named(named) => (None, &named[..]),
        };
        all.into_iter()
            .flat_map(|typ| typ.resources().values())
            .chain(named)
    }

    pub fn len(&self) -> usize {
        match self {
            Carried::All(typ) => typ.resources().len(),
            Carried::Named(named) => named.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl SotwResponse {
    /// The protobuf message (a copy of every resource; for tests and tools).
    pub fn to_message(&self) -> DiscoveryResponse {
        DiscoveryResponse {
            version_info: self.version_info.clone(),
            resources: self.resources.iter().map(|r| r.resource()).collect(),
            type_url: self.type_url.clone(),
            nonce: self.nonce.clone(),
            ..Default::default()
        }
    }
}

/// What the client said about a response, for counting and logging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Feedback {
    /// The client applied the response with `nonce`.
    Ack {
        type_url: String,
        version: String,
        nonce: String,
    },
    /// The client rejected the response with `nonce`; `version` is the last one it accepted.
    Nack {
        type_url: String,
        version: String,
        nonce: String,
        message: String,
    },
}

/// The result of one input: responses to send, in order, and what the client reported.
#[derive(Debug)]
pub struct Output<R> {
    pub responses: Vec<R>,
    pub feedback: Option<Feedback>,
}

impl<R> Default for Output<R> {
    fn default() -> Self {
        Self {
            responses: Vec::new(),
            feedback: None,
        }
    }
}

/// Sorted, distinct resource names. Envoy opens one stream per route configuration, cluster
/// and secret, each naming one resource: a boxed slice costs a fraction of a B-tree leaf, which
/// always has room for eleven entries.
type Names = Box<[Box<str>]>;

/// What one stream sees of a type. A wildcard subscription sees the whole type, so its
/// version says it all; a named one sees name → resource version for its names that exist.
#[derive(Debug, PartialEq, Eq)]
enum View {
    All { version: String },
    Named(Box<[(Box<str>, Box<str>)]>),
}

#[derive(Debug)]
struct Sent {
    nonce: String,
    view: View,
}

#[derive(Debug)]
struct TypeState {
    wildcard: bool,
    names: Names,
    /// The last response sent for this type.
    sent: Option<Sent>,
    /// Whether `sent` is still waiting for an ACK or NACK.
    pending: bool,
    /// A new or changed subscription that must be answered even if the content is unchanged.
    force: bool,
    /// The type version last evaluated; the same version again cannot change the view.
    seen: Option<String>,
}

impl TypeState {
    fn new(requested: Requested) -> Self {
        Self {
            wildcard: requested.star || requested.names.is_empty(),
            names: requested.names,
            sent: None,
            pending: false,
            force: true,
            seen: None,
        }
    }

    /// Applies the names of a later request; returns whether the subscription changed.
    fn resubscribe(&mut self, requested: Requested) -> bool {
        // An empty list keeps a wildcard subscription (legacy wildcard) and empties a named one.
        let wildcard = requested.star || (requested.names.is_empty() && self.wildcard);
        let changed = wildcard != self.wildcard || requested.names != self.names;
        self.wildcard = wildcard;
        self.names = requested.names;
        changed
    }

    fn view(&self, typ: &TypeSnapshot) -> View {
        if self.wildcard {
            return View::All {
                version: typ.version().to_string(),
            };
        }
        View::Named(
            self.names
                .iter()
                .filter_map(|n| typ.get(n).map(|r| (n.clone(), r.version.as_str().into())))
                .collect(),
        )
    }
}

/// The resource names of one request.
struct Requested {
    star: bool,
    names: Names,
}

impl Requested {
    fn from(names: &[String]) -> Self {
        let mut sorted: Vec<Box<str>> = names
            .iter()
            .filter(|n| *n != "*")
            .map(|n| n.as_str().into())
            .collect();
        sorted.sort_unstable();
        sorted.dedup();
        Self {
            star: names.iter().any(|n| n == "*"),
            names: sorted.into_boxed_slice(),
        }
    }
}

/// The SotW state of one gRPC stream.
#[derive(Debug, Default)]
pub struct SotwStream {
    next_nonce: u64,
    node: String,
    /// Subscribed types in the order of their first request (a handful at most).
    types: Vec<(Cow<'static, str>, TypeState)>,
}

impl SotwStream {
    pub fn new() -> Self {
        Self::default()
    }

    /// The node ID the client sent (usually only on its first request), or "".
    pub fn node_id(&self) -> &str {
        &self.node
    }

    /// Whether the stream has subscribed to `type_url`.
    pub fn is_subscribed(&self, type_url: &str) -> bool {
        self.types.iter().any(|(t, _)| t == type_url)
    }

    /// Handles one request from the client.
    pub fn on_request(&mut self, req: &DiscoveryRequest, snap: &Snapshot) -> Output<SotwResponse> {
        if let Some(node) = req.node.as_ref().filter(|n| !n.id.is_empty()) {
            self.node = node.id.clone();
        }
        let requested = Requested::from(&req.resource_names);
        let nonce = req.response_nonce.as_str();
        let mut feedback = None;
        match find_mut(&mut self.types, &req.type_url) {
            None => {
                let state = TypeState::new(requested);
                // One slot: Envoy's streams carry one type (ADS streams grow as needed).
                self.types.reserve_exact(1);
                self.types.push((type_url::shared(&req.type_url), state));
            }
            Some(state) if nonce.is_empty() => {
                // A repeated initial request for a type already known: answered only when it
                // changes the subscription (or the content moved on), never just repeated.
                if state.resubscribe(requested) {
                    state.force = true;
                }
            }
            Some(state) if state.sent.as_ref().map(|s| s.nonce.as_str()) != Some(nonce) => {
                // Stale nonce: ignored unless it changes the subscription.
                if !state.resubscribe(requested) {
                    return Output::default();
                }
                state.force = true;
            }
            Some(state) => {
                state.pending = false;
                state.seen = None;
                feedback = Some(feedback_for(req));
                if state.resubscribe(requested) {
                    state.force = true;
                }
            }
        }
        let responses = self.respond(&req.type_url, snap).into_iter().collect();
        Output {
            responses,
            feedback,
        }
    }

    /// Handles a snapshot change: returns the responses for every type whose content, as this
    /// stream sees it, changed and that has no response waiting for an ACK.
    pub fn on_snapshot(&mut self, snap: &Snapshot) -> Vec<SotwResponse> {
        let known = type_url::ALL.iter().map(|t| t.to_string());
        let mut others = self
            .types
            .iter()
            .map(|(t, _)| t.to_string())
            .filter(|t| !type_url::ALL.contains(&t.as_str()))
            .collect::<Vec<_>>();
        others.sort_unstable();
        known
            .chain(others)
            .filter_map(|t| self.respond(&t, snap))
            .collect()
    }

    fn respond(&mut self, type_url: &str, snap: &Snapshot) -> Option<SotwResponse> {
        if !snap.is_ready() {
            return None;
        }
        let state = find_mut(&mut self.types, type_url)?;
        if state.pending && !state.force {
            return None;
        }
        let typ = snap.get(type_url);
        if !state.force && state.seen.as_deref() == Some(typ.version()) {
            return None;
        }
        state.seen = Some(typ.version().to_string());
        let view = state.view(typ);
        let unchanged = state.sent.as_ref().is_some_and(|s| s.view == view);
        if unchanged && !state.force {
            return None;
        }
        self.next_nonce += 1;
        let nonce = self.next_nonce.to_string();
        let resources = match &view {
            View::All { .. } => Carried::All(Arc::clone(typ)),
            View::Named(named) => Carried::Named(
                named
                    .iter()
                    .filter_map(|(n, _)| typ.get(n))
                    .map(Arc::clone)
                    .collect(),
            ),
        };
        state.sent = Some(Sent {
            nonce: nonce.clone(),
            view,
        });
        state.pending = true;
        state.force = false;
        Some(SotwResponse {
            version_info: typ.version().to_string(),
            resources,
            type_url: type_url.to_string(),
            nonce,
        })
    }
}

fn find_mut<'a>(
    types: &'a mut [(Cow<'static, str>, TypeState)],
    type_url: &str,
) -> Option<&'a mut TypeState> {
    types
        .iter_mut()
        .find(|(t, _)| &**t == type_url)
        .map(|(_, s)| s)
}

fn feedback_for(req: &DiscoveryRequest) -> Feedback {
    match &req.error_detail {
        Some(status) => Feedback::Nack {
            type_url: req.type_url.clone(),
            version: req.version_info.clone(),
            nonce: req.response_nonce.clone(),
            message: status.message.clone(),
        },
        None => Feedback::Ack {
            type_url: req.type_url.clone(),
            version: req.version_info.clone(),
            nonce: req.response_nonce.clone(),
        },
    }
}

#[cfg(test)]
mod tests;
