//! Objects whose status is only a list of conditions: ContourConfiguration (its `Valid`
//! condition) and ExtensionService. Written with the same rules as HTTPProxy conditions
//! ([`super::merge::merge_conditions`]).

use std::fmt::Debug;

use contour_api::v1::DetailedCondition;
use contour_api::v1alpha1::{
    ContourConfiguration, ContourConfigurationStatus, ExtensionService, ExtensionServiceStatus,
};
use kube::api::PostParams;
use kube::core::NamespaceResourceScope;
use kube::{Api, Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Outcome;
use super::merge::{merge_conditions, same_conditions};

/// The kinds written through this path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConditionsKind {
    ContourConfiguration,
    ExtensionService,
}

impl ConditionsKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionsKind::ContourConfiguration => "ContourConfiguration",
            ConditionsKind::ExtensionService => "ExtensionService",
        }
    }
}

/// The `Valid` condition of the ContourConfiguration contour runs with: an invalid one stops
/// contour at startup, so a running contour always reports it valid.
pub fn contour_configuration_valid(generation: Option<i64>) -> DetailedCondition {
    DetailedCondition {
        type_: "Valid".into(),
        status: "True".into(),
        observed_generation: generation,
        reason: "Valid".into(),
        message: "Valid ContourConfiguration".into(),
        ..Default::default()
    }
}

trait HasConditions:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
{
    fn conditions(&self) -> &[DetailedCondition];
    fn set_conditions(&mut self, conditions: Vec<DetailedCondition>);
}

impl HasConditions for ContourConfiguration {
    fn conditions(&self) -> &[DetailedCondition] {
        self.status.as_ref().map_or(&[], |s| &s.conditions)
    }
    fn set_conditions(&mut self, conditions: Vec<DetailedCondition>) {
        self.status = Some(ContourConfigurationStatus { conditions });
    }
}

impl HasConditions for ExtensionService {
    fn conditions(&self) -> &[DetailedCondition] {
        self.status.as_ref().map_or(&[], |s| &s.conditions)
    }
    fn set_conditions(&mut self, conditions: Vec<DetailedCondition>) {
        self.status = Some(ExtensionServiceStatus { conditions });
    }
}

/// Read, merge, compare, write (one attempt; the caller retries conflicts).
pub(super) async fn apply(
    client: &Client,
    kind: ConditionsKind,
    ns: &str,
    name: &str,
    want: &[DetailedCondition],
    now: &str,
) -> Result<Outcome, kube::Error> {
    match kind {
        ConditionsKind::ContourConfiguration => {
            apply_typed::<ContourConfiguration>(client, ns, name, want, now).await
        }
        ConditionsKind::ExtensionService => {
            apply_typed::<ExtensionService>(client, ns, name, want, now).await
        }
    }
}

async fn apply_typed<K: HasConditions>(
    client: &Client,
    ns: &str,
    name: &str,
    want: &[DetailedCondition],
    now: &str,
) -> Result<Outcome, kube::Error> {
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let Some(mut obj) = api.get_opt(name).await? else {
        return Ok(Outcome::Gone);
    };
    let mut merged = obj.conditions().to_vec();
    merge_conditions(&mut merged, want, now);
    if same_conditions(obj.conditions(), &merged) {
        return Ok(Outcome::Noop);
    }
    obj.set_conditions(merged);
    obj.meta_mut().managed_fields = None;
    api.replace_status(name, &PostParams::default(), &obj)
        .await?;
    Ok(Outcome::Written)
}
