//! RTDS: the `dynamic` runtime layer with the keys Contour manages.

use envoy_types::pb::envoy::service::runtime::v3::Runtime;
use envoy_types::pb::google::protobuf::{Struct, Value, value};

use crate::names::DYNAMIC_RUNTIME_LAYER_NAME;
use crate::pb::det_map;

/// RE2 program size above which Envoy rejects a regex (upstream: 1 << 20).
pub const MAX_REGEX_PROGRAM_SIZE_ERROR: f64 = 1_048_576.0;
/// RE2 program size above which Envoy warns (upstream: 1000).
pub const MAX_REGEX_PROGRAM_SIZE_WARN: f64 = 1000.0;

/// The `dynamic` runtime resource with upstream's managed keys.
pub fn runtime() -> Runtime {
    let number = |n: f64| Value {
        kind: Some(value::Kind::NumberValue(n)),
    };
    let fields = det_map([
        (
            "re2.max_program_size.error_level".to_string(),
            number(MAX_REGEX_PROGRAM_SIZE_ERROR),
        ),
        (
            "re2.max_program_size.warn_level".to_string(),
            number(MAX_REGEX_PROGRAM_SIZE_WARN),
        ),
    ]);
    Runtime {
        name: DYNAMIC_RUNTIME_LAYER_NAME.to_string(),
        layer: Some(Struct { fields }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_regex_keys() {
        let rt = runtime();
        assert_eq!(rt.name, "dynamic");
        let fields = rt.layer.expect("layer").fields;
        assert_eq!(fields.len(), 2);
        assert_eq!(
            fields["re2.max_program_size.error_level"].kind,
            Some(value::Kind::NumberValue(1_048_576.0))
        );
        assert_eq!(
            fields["re2.max_program_size.warn_level"].kind,
            Some(value::Kind::NumberValue(1000.0))
        );
    }
}
