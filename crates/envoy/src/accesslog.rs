//! Access logs of the ingress listeners: Envoy's text format (optionally a custom format
//! string) or JSON fields, filtered by level, written by the file access logger.

use envoy_types::pb::envoy::config::accesslog::v3::{
    AccessLog, AccessLogFilter, ComparisonFilter, OrFilter, ResponseFlagFilter, StatusCodeFilter,
    access_log, access_log_filter, comparison_filter,
};
use envoy_types::pb::envoy::config::core::v3::{
    DataSource, RuntimeUInt32, SubstitutionFormatString, TypedExtensionConfig, data_source,
    substitution_format_string,
};
use envoy_types::pb::envoy::extensions::access_loggers::file::v3::{
    FileAccessLog, file_access_log,
};
use envoy_types::pb::envoy::extensions::formatter::metadata::v3::Metadata as MetadataFormatter;
use envoy_types::pb::envoy::extensions::formatter::req_without_query::v3::ReqWithoutQuery;
use envoy_types::pb::google::protobuf::{Struct, Value, value};

use crate::config::{AccessLogFormat, AccessLogLevel, AccessLogSettings};
use crate::pb::{det_map, to_any};

/// Name of the file access logger, as upstream spells it.
pub const FILE_ACCESS_LOG: &str = "envoy.access_loggers.file";

/// The access log of an ingress listener writing to `path`; empty when disabled.
pub fn access_logs(path: &str, settings: &AccessLogSettings) -> Vec<AccessLog> {
    let filter = match settings.level {
        AccessLogLevel::Disabled => return Vec::new(),
        AccessLogLevel::Info => None,
        AccessLogLevel::Error => Some(only_errors(300)),
        AccessLogLevel::Critical => Some(only_errors(500)),
    };
    let file = FileAccessLog {
        path: path.to_string(),
        access_log_format: log_format(&settings.format),
    };
    vec![AccessLog {
        name: FILE_ACCESS_LOG.to_string(),
        filter,
        config_type: Some(access_log::ConfigType::TypedConfig(to_any(&file))),
    }]
}

fn log_format(format: &AccessLogFormat) -> Option<file_access_log::AccessLogFormat> {
    use substitution_format_string::Format;
    let formats = format.formats();
    let (format, omit_empty_values): (Format, bool) = match format {
        AccessLogFormat::Envoy(None) => return None,
        AccessLogFormat::Envoy(Some(text)) => {
            let source = DataSource {
                specifier: Some(data_source::Specifier::InlineString(text.clone())),
                ..Default::default()
            };
            (Format::TextFormatSource(source), false)
        }
        AccessLogFormat::Json(fields) => {
            let json = Struct {
                fields: det_map(fields.iter().map(|(k, v)| {
                    let value = Value {
                        kind: Some(value::Kind::StringValue(v.clone())),
                    };
                    (k.clone(), value)
                })),
            };
            (Format::JsonFormat(json), true)
        }
    };
    Some(file_access_log::AccessLogFormat::LogFormat(
        SubstitutionFormatString {
            format: Some(format),
            omit_empty_values,
            formatters: formatters(formats),
            ..Default::default()
        },
    ))
}

/// Formatter extensions the formats need, as upstream adds them.
fn formatters(formats: Vec<&str>) -> Vec<TypedExtensionConfig> {
    contour_api::config::accesslog::formatter_extensions(formats)
        .into_iter()
        .map(|name| TypedExtensionConfig {
            name: name.to_string(),
            typed_config: Some(match name {
                "envoy.formatter.metadata" => to_any(&MetadataFormatter::default()),
                _ => to_any(&ReqWithoutQuery::default()),
            }),
        })
        .collect()
}

/// Log responses with a status ≥ `min` or any response flag (they all mean an error).
fn only_errors(min: u32) -> AccessLogFilter {
    let status = AccessLogFilter {
        filter_specifier: Some(access_log_filter::FilterSpecifier::StatusCodeFilter(
            StatusCodeFilter {
                comparison: Some(ComparisonFilter {
                    op: comparison_filter::Op::Ge as i32,
                    value: Some(RuntimeUInt32 {
                        default_value: min,
                        runtime_key: "contour.accesslog.filter.status_code".to_string(),
                    }),
                }),
            },
        )),
    };
    let flags = AccessLogFilter {
        filter_specifier: Some(access_log_filter::FilterSpecifier::ResponseFlagFilter(
            ResponseFlagFilter::default(),
        )),
    };
    AccessLogFilter {
        filter_specifier: Some(access_log_filter::FilterSpecifier::OrFilter(OrFilter {
            filters: vec![status, flags],
        })),
    }
}
