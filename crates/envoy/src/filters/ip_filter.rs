//! IP allow/deny lists as RBAC per-route policies (`envoy.filters.http.rbac`).

use contour_dag::{IpFilter, IpRule};
use envoy_types::pb::envoy::config::core::v3::CidrRange;
use envoy_types::pb::envoy::config::rbac::v3::{
    Permission, Policy, Principal, Rbac as RbacRules, permission, principal, rbac,
};
use envoy_types::pb::envoy::extensions::filters::http::rbac::v3::{Rbac, RbacPerRoute};

use crate::pb::{det_map, u32v};

/// The single policy name upstream uses.
pub const IP_RULES_POLICY: &str = "ip-rules";

/// An ALLOW (allow list) or DENY (deny list) policy matching any request from the listed
/// blocks. `Remote` rules match the client address (`remote_ip`, after X-Forwarded-For and
/// PROXY), `Peer` rules the connection's (`direct_remote_ip`).
pub fn rbac_per_route(filter: &IpFilter) -> RbacPerRoute {
    let action = if filter.allow {
        rbac::Action::Allow
    } else {
        rbac::Action::Deny
    };
    let policy = Policy {
        permissions: vec![Permission {
            rule: Some(permission::Rule::Any(true)),
        }],
        principals: filter.rules.iter().map(principal).collect(),
        ..Default::default()
    };
    RbacPerRoute {
        rbac: Some(Rbac {
            rules: Some(RbacRules {
                action: action as i32,
                policies: det_map([(IP_RULES_POLICY.to_string(), policy)]),
                ..Default::default()
            }),
            ..Default::default()
        }),
    }
}

fn principal(rule: &IpRule) -> Principal {
    let cidr = CidrRange {
        address_prefix: rule.address_prefix.clone(),
        prefix_len: Some(u32v(rule.prefix_len)),
    };
    let identifier = if rule.remote {
        principal::Identifier::RemoteIp(cidr)
    } else {
        principal::Identifier::DirectRemoteIp(cidr)
    };
    Principal {
        identifier: Some(identifier),
    }
}
