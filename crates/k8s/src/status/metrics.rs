//! Status update metrics with upstream's names and labels.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindErrorLabels {
    pub kind: String,
    pub error: String,
}

fn duration_histogram() -> Histogram {
    Histogram::new([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0])
}

/// `contour_status_update_*`.
#[derive(Clone)]
pub struct StatusMetrics {
    pub total: Family<KindLabel, Counter>,
    pub success: Family<KindLabel, Counter>,
    pub failed: Family<KindLabel, Counter>,
    pub conflict: Family<KindLabel, Counter>,
    pub noop: Family<KindLabel, Counter>,
    pub duration: Family<KindErrorLabels, Histogram, fn() -> Histogram>,
}

impl Default for StatusMetrics {
    fn default() -> Self {
        StatusMetrics {
            total: Family::default(),
            success: Family::default(),
            failed: Family::default(),
            conflict: Family::default(),
            noop: Family::default(),
            duration: Family::new_with_constructor(duration_histogram),
        }
    }
}

impl StatusMetrics {
    /// Registers the metrics (counters get their `_total` suffix from the encoder).
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "contour_status_update",
            "Total number of status updates by object kind.",
            self.total.clone(),
        );
        r.register(
            "contour_status_update_success",
            "Number of status updates that succeeded by object kind.",
            self.success.clone(),
        );
        r.register(
            "contour_status_update_failed",
            "Number of status updates that failed by object kind.",
            self.failed.clone(),
        );
        r.register(
            "contour_status_update_conflict",
            "Number of status update conflicts encountered by object kind.",
            self.conflict.clone(),
        );
        r.register(
            "contour_status_update_noop",
            "Number of status updates that are no-ops by object kind. This is a subset of successful status updates.",
            self.noop.clone(),
        );
        r.register(
            "contour_status_update_duration_seconds",
            "How long a status update takes to finish.",
            self.duration.clone(),
        );
    }

    pub fn kind(kind: &str) -> KindLabel {
        KindLabel {
            kind: kind.to_string(),
        }
    }

    pub fn observe(&self, kind: &str, seconds: f64, error: bool) {
        let labels = KindErrorLabels {
            kind: kind.to_string(),
            error: error.to_string(),
        };
        self.duration.get_or_create(&labels).observe(seconds);
    }
}
