//! Upstream Contour's gRPC server metrics (go-grpc-prometheus): `grpc_server_started_total`,
//! `grpc_server_handled_total`, `grpc_server_msg_received_total` and
//! `grpc_server_msg_sent_total`, labelled `grpc_type`, `grpc_service`, `grpc_method` (and
//! `grpc_code` for handled), pre-initialised to zero for every xDS method as
//! `InitializeMetrics` does.
//!
//! The server counts where it knows what happens: a stream is started when it is routed, its
//! messages are counted by its driver as it decodes requests and queues responses, and its
//! status when it ends. A stream dropped before it ended (Envoy went away) is counted as
//! `Canceled`, as a Go server sees it. Every stream of a method shares that method's counters
//! ([`MethodCounters`]): a stream carries one pointer, not its labels and four handles.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use crate::service::SERVICES;

/// go-grpc-prometheus labels (alphabetical, as the Go client writes them).
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    pub grpc_method: &'static str,
    pub grpc_service: &'static str,
    pub grpc_type: &'static str,
}

#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HandledLabels {
    pub grpc_code: &'static str,
    pub grpc_method: &'static str,
    pub grpc_service: &'static str,
    pub grpc_type: &'static str,
}

/// The four counter families, and each method's counters in them.
#[derive(Debug, Clone)]
pub struct GrpcMetrics {
    pub started: Family<MethodLabels, Counter>,
    pub handled: Family<HandledLabels, Counter>,
    pub msg_received: Family<MethodLabels, Counter>,
    pub msg_sent: Family<MethodLabels, Counter>,
    methods: Arc<[(MethodLabels, Arc<MethodCounters>)]>,
}

/// One method's counters (handles into [`GrpcMetrics`]' families).
#[derive(Debug)]
pub(crate) struct MethodCounters {
    started: Counter,
    received: Counter,
    sent: Counter,
    /// By gRPC status code.
    handled: [Counter; CODES.len()],
}

impl MethodCounters {
    pub(crate) fn started(&self) {
        self.started.inc();
    }

    pub(crate) fn received(&self) {
        self.received.inc();
    }

    pub(crate) fn sent(&self) {
        self.sent.inc();
    }

    /// A stream ended with status `code` (an unknown code counts as `Unknown`).
    pub(crate) fn handled(&self, code: tonic::Code) {
        let i = code as usize;
        self.handled.get(i).unwrap_or(&self.handled[2]).inc();
    }
}

/// gRPC status codes by number, named as Go's `codes.Code.String()`.
const CODES: [&str; 17] = [
    "OK",
    "Canceled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
];

fn grpc_type(method: &str) -> &'static str {
    if method.starts_with("Fetch") {
        "unary"
    } else {
        "bidi_stream"
    }
}

/// Every method the xDS server registers: (service, method).
fn methods() -> impl Iterator<Item = (&'static str, &'static str)> {
    SERVICES.iter().flat_map(|s| {
        [Some(s.stream), Some(s.delta), s.fetch]
            .into_iter()
            .flatten()
            .map(|m| (s.name, m))
    })
}

/// The labels of a registered method.
fn labels_of(service: &str, method: &str) -> Option<MethodLabels> {
    let (service, method) = methods().find(|(s, m)| *s == service && *m == method)?;
    Some(MethodLabels {
        grpc_method: method,
        grpc_service: service,
        grpc_type: grpc_type(method),
    })
}

fn handled_labels(m: &MethodLabels, code: &'static str) -> HandledLabels {
    HandledLabels {
        grpc_code: code,
        grpc_method: m.grpc_method,
        grpc_service: m.grpc_service,
        grpc_type: m.grpc_type,
    }
}

impl Default for GrpcMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl GrpcMetrics {
    /// New counters, zero for every method (and every code of `handled`).
    pub fn new() -> Self {
        let (started, handled, msg_received, msg_sent) = Default::default();
        let mut m = GrpcMetrics {
            started,
            handled,
            msg_received,
            msg_sent,
            methods: Arc::new([]),
        };
        let methods: Vec<_> = methods()
            .filter_map(|(s, method)| labels_of(s, method))
            .map(|l| (l, Arc::new(m.counters(&l))))
            .collect();
        m.methods = methods.into();
        m
    }

    fn counters(&self, l: &MethodLabels) -> MethodCounters {
        MethodCounters {
            started: self.started.get_or_create(l).clone(),
            received: self.msg_received.get_or_create(l).clone(),
            sent: self.msg_sent.get_or_create(l).clone(),
            handled: CODES.map(|code| self.handled.get_or_create(&handled_labels(l, code)).clone()),
        }
    }

    /// The counters of a registered method.
    pub(crate) fn method(&self, service: &str, method: &str) -> Option<Arc<MethodCounters>> {
        self.methods
            .iter()
            .find(|(l, _)| l.grpc_service == service && l.grpc_method == method)
            .map(|(_, c)| Arc::clone(c))
    }

    /// Registers the families under upstream's names (the client adds `_total`).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "grpc_server_started",
            "Total number of RPCs started on the server.",
            self.started.clone(),
        );
        registry.register(
            "grpc_server_handled",
            "Total number of RPCs completed on the server, regardless of success or failure.",
            self.handled.clone(),
        );
        registry.register(
            "grpc_server_msg_received",
            "Total number of RPC stream messages received on the server.",
            self.msg_received.clone(),
        );
        registry.register(
            "grpc_server_msg_sent",
            "Total number of gRPC stream messages sent by the server.",
            self.msg_sent.clone(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADS: &str = "envoy.service.discovery.v3.AggregatedDiscoveryService";

    #[test]
    fn registered_methods_only() {
        let l = labels_of(ADS, "StreamAggregatedResources").unwrap();
        assert_eq!(l.grpc_type, "bidi_stream");
        let l = labels_of(
            "envoy.service.listener.v3.ListenerDiscoveryService",
            "FetchListeners",
        )
        .unwrap();
        assert_eq!(l.grpc_type, "unary");
        assert!(labels_of("grpc.health.v1.Health", "Check").is_none());
        assert!(labels_of(ADS, "Nope").is_none());
        assert!(labels_of(ADS, "FetchAggregatedResources").is_none());
        // ADS: two streams; seven per-type services (upstream's six and SRDS, for route
        // scopes): two streams and a fetch each.
        assert_eq!(methods().count(), 2 + 7 * 3);
    }

    #[test]
    fn a_methods_counters_are_its_series_with_go_code_names() {
        let m = GrpcMetrics::new();
        let counters = m.method(ADS, "DeltaAggregatedResources").unwrap();
        counters.started();
        counters.sent();
        counters.sent();
        counters.handled(tonic::Code::Unimplemented);
        counters.handled(tonic::Code::Cancelled);
        let l = labels_of(ADS, "DeltaAggregatedResources").unwrap();
        assert_eq!(m.started.get_or_create(&l).get(), 1);
        assert_eq!(m.msg_sent.get_or_create(&l).get(), 2);
        assert_eq!(m.msg_received.get_or_create(&l).get(), 0);
        let handled = |code| m.handled.get_or_create(&handled_labels(&l, code)).get();
        assert_eq!(handled("Unimplemented"), 1);
        assert_eq!(handled("Canceled"), 1);
        assert_eq!(handled("OK"), 0);
        let other = labels_of(ADS, "StreamAggregatedResources").unwrap();
        assert_eq!(m.started.get_or_create(&other).get(), 0, "per method");
    }
}
