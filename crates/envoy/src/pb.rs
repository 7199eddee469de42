//! Small protobuf helpers shared by the resource builders: packing, wrappers, durations,
//! deterministic maps, addresses and the `contour` gRPC config source.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::Hash;
use std::sync::OnceLock;

use envoy_types::pb::envoy::config::core::v3::{
    Address, ApiConfigSource, ApiVersion, ConfigSource, GrpcService, Pipe, SocketAddress, address,
    api_config_source::ApiType, config_source::ConfigSourceSpecifier, grpc_service, socket_address,
};
use envoy_types::pb::google::protobuf::{Any, BoolValue, Duration, UInt32Value};
use prost::{Message, Name};

use crate::names::XDS_CLUSTER_NAME;

/// Packs a message into envoy-types' own `Any` with its type URL.
pub fn to_any<T: Message + Name>(msg: &T) -> Any {
    Any {
        type_url: T::type_url(),
        value: msg.encode_to_vec(),
    }
}

/// A protobuf `Duration` from whole milliseconds.
pub fn millis(ms: u64) -> Duration {
    Duration {
        seconds: i64::try_from(ms / 1000).unwrap_or(i64::MAX),
        // Always < 1e9, so it fits.
        nanos: i32::try_from((ms % 1000) * 1_000_000).unwrap_or(0),
    }
}

/// A protobuf `Duration` from a `std::time::Duration`.
pub fn duration(d: std::time::Duration) -> Duration {
    Duration {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

/// Envoy's form of a timeout: unset for Envoy's default, `0s` when disabled (`infinity`; Envoy
/// reads 0s as "no timeout"), else the duration.
pub fn timeout(t: contour_api::duration::TimeoutSetting) -> Option<Duration> {
    use contour_api::duration::TimeoutSetting;
    match t {
        TimeoutSetting::Default => None,
        TimeoutSetting::Disabled => Some(duration(std::time::Duration::ZERO)),
        TimeoutSetting::Duration(d) => Some(duration(d)),
    }
}

pub fn u32v(value: u32) -> UInt32Value {
    UInt32Value { value }
}

pub fn boolv(value: bool) -> BoolValue {
    BoolValue { value }
}

/// One hasher state for the whole process, so that maps holding the same entries iterate (and
/// therefore encode) in the same order. prost encodes `map<>` fields in `HashMap` iteration
/// order, and every `RandomState::new()` has fresh keys: without this, identical resources
/// would encode to different bytes and trigger pushes. (Across processes the order may differ;
/// only in-process stability is needed for change detection.)
fn shared_state() -> RandomState {
    static STATE: OnceLock<RandomState> = OnceLock::new();
    STATE.get_or_init(RandomState::new).clone()
}

/// A `HashMap` whose iteration order depends only on its entries (within this process).
/// Entries are inserted in sorted key order.
pub fn det_map<K: Hash + Eq + Ord, V>(entries: impl IntoIterator<Item = (K, V)>) -> HashMap<K, V> {
    let mut sorted: Vec<(K, V)> = entries.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut map = HashMap::with_capacity_and_hasher(sorted.len(), shared_state());
    for (k, v) in sorted {
        map.insert(k, v);
    }
    map
}

/// The config source every dynamic reference (RDS, EDS, SDS, and in per-type mode LDS/CDS/RTDS)
/// uses: API config source, GRPC, transport v3, resources v3, Envoy gRPC to cluster `contour`.
pub fn contour_config_source() -> ConfigSource {
    ConfigSource {
        resource_api_version: ApiVersion::V3 as i32,
        config_source_specifier: Some(ConfigSourceSpecifier::ApiConfigSource(ApiConfigSource {
            api_type: ApiType::Grpc as i32,
            transport_api_version: ApiVersion::V3 as i32,
            grpc_services: vec![contour_grpc_service()],
            ..Default::default()
        })),
        ..Default::default()
    }
}

/// Envoy gRPC to cluster `contour`, authority `contour` (the cluster name with `/` → `.`).
pub fn contour_grpc_service() -> GrpcService {
    GrpcService {
        target_specifier: Some(grpc_service::TargetSpecifier::EnvoyGrpc(
            grpc_service::EnvoyGrpc {
                cluster_name: XDS_CLUSTER_NAME.to_string(),
                authority: XDS_CLUSTER_NAME.replace('/', "."),
                ..Default::default()
            },
        )),
        ..Default::default()
    }
}

/// A TCP socket address. `::` also accepts IPv4 (`ipv4_compat`), as upstream.
pub fn socket_address(addr: &str, port: u16) -> Address {
    Address {
        address: Some(address::Address::SocketAddress(SocketAddress {
            protocol: socket_address::Protocol::Tcp as i32,
            address: addr.to_string(),
            ipv4_compat: addr == "::",
            port_specifier: Some(socket_address::PortSpecifier::PortValue(u32::from(port))),
            ..Default::default()
        })),
    }
}

/// A Unix socket address with mode 0644, as upstream's admin socket.
pub fn pipe_address(path: &str) -> Address {
    Address {
        address: Some(address::Address::Pipe(Pipe {
            path: path.to_string(),
            mode: 0o644,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn det_map_iterates_identically_for_equal_content() {
        let a = det_map((0..50).map(|i| (format!("k{i}"), i)));
        let b = det_map((0..50).rev().map(|i| (format!("k{i}"), i)));
        let ka: Vec<_> = a.keys().collect();
        let kb: Vec<_> = b.keys().collect();
        assert_eq!(ka, kb);
    }

    #[test]
    fn durations() {
        assert_eq!(
            millis(250),
            Duration {
                seconds: 0,
                nanos: 250_000_000
            }
        );
        assert_eq!(
            millis(5000),
            Duration {
                seconds: 5,
                nanos: 0
            }
        );
        assert_eq!(
            duration(std::time::Duration::from_secs(60)),
            Duration {
                seconds: 60,
                nanos: 0
            }
        );
    }

    #[test]
    fn config_source_points_at_contour() {
        let cs = contour_config_source();
        assert_eq!(cs.resource_api_version, ApiVersion::V3 as i32);
        let Some(ConfigSourceSpecifier::ApiConfigSource(api)) = cs.config_source_specifier else {
            panic!("expected an api config source");
        };
        assert_eq!(api.api_type, ApiType::Grpc as i32);
        let Some(grpc_service::TargetSpecifier::EnvoyGrpc(g)) =
            &api.grpc_services[0].target_specifier
        else {
            panic!("expected envoy grpc");
        };
        assert_eq!(g.cluster_name, "contour");
        assert_eq!(g.authority, "contour");
    }
}
