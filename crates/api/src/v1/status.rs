//! Status types shared by Contour's CRDs.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::schema::{CONDITION_REASON, CONDITION_TYPE};

/// A Kubernetes `metav1.Condition` extended with error and warning sub-conditions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DetailedCondition {
    /// Condition type in CamelCase, e.g. `Valid`.
    #[serde(rename = "type")]
    #[schemars(length(max = 316), regex(pattern = CONDITION_TYPE))]
    pub type_: String,
    /// One of True, False, Unknown.
    #[schemars(extend("enum" = ["True", "False", "Unknown"]))]
    pub status: String,
    /// The `.metadata.generation` this condition was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub observed_generation: Option<i64>,
    /// When the status last changed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(required, extend("format" = "date-time"))]
    pub last_transition_time: Option<String>,
    /// Machine-readable reason for the last transition.
    #[schemars(length(min = 1, max = 1024), regex(pattern = CONDITION_REASON))]
    pub reason: String,
    /// Human-readable details of the last transition.
    #[schemars(length(max = 32768))]
    pub message: String,
    /// Problems that make the object invalid.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<SubCondition>,
    /// Problems that do not make the object invalid.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<SubCondition>,
}

/// One error or warning inside a [`DetailedCondition`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubCondition {
    /// Sub-condition type, e.g. `IncludeError`.
    #[serde(rename = "type")]
    #[schemars(length(max = 316), regex(pattern = CONDITION_TYPE))]
    pub type_: String,
    /// One of True, False, Unknown.
    #[schemars(extend("enum" = ["True", "False", "Unknown"]))]
    pub status: String,
    /// Machine-readable reason, e.g. `IncludeNotFound`.
    #[schemars(length(min = 1, max = 1024), regex(pattern = CONDITION_REASON))]
    pub reason: String,
    /// Human-readable details.
    #[schemars(length(max = 32768))]
    pub message: String,
}
