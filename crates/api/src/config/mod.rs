//! contour.yaml: the file `contour serve --config-path` reads (upstream's `pkg/config`).
//!
//! Parsing is strict, as upstream's (`KnownFields(true)`): an unknown key or a bad value is an
//! error naming the key and its line. Values are checked while parsing (see [`values`]); the few
//! rules that relate two keys are checked afterwards ([`Parameters::validate`]) and located in
//! the text by [`locate`]. Keys left out take upstream's defaults ([`Parameters::default`]).

pub mod accesslog;
mod locate;
mod nested;
pub mod types;
pub mod values;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use types::*;
pub use values::{
    AccessLogFormat, AccessLogLevel, CompressionAlgorithm, DnsLookupFamily, HttpVersion,
    ServerHeaderTransformation,
};

use types::nullable;

/// Why a contour.yaml was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ConfigError {
    /// Dotted key path, e.g. `timeouts.request-timeout` (empty when the file as a whole is bad).
    pub key: String,
    /// 1-based line in the file, when known.
    pub line: Option<usize>,
    pub message: String,
}

impl ConfigError {
    fn render(&self) -> String {
        match (self.key.is_empty(), self.line) {
            (false, Some(line)) => format!("{} (line {line}): {}", self.key, self.message),
            (false, None) => format!("{}: {}", self.key, self.message),
            (true, Some(line)) => format!("line {line}: {}", self.message),
            (true, None) => self.message.clone(),
        }
    }
}

/// Every key of upstream's contour.yaml. Field docs name the YAML key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Parameters {
    /// `debug`: debug logging.
    pub debug: bool,
    /// `incluster`.
    pub incluster: bool,
    /// `kubeconfig`.
    #[serde(deserialize_with = "nullable")]
    pub kubeconfig: String,
    /// `kubernetesClientQPS`.
    #[serde(rename = "kubernetesClientQPS")]
    pub kubernetes_client_qps: f32,
    /// `kubernetesClientBurst`.
    #[serde(rename = "kubernetesClientBurst")]
    pub kubernetes_client_burst: u32,
    /// `server`: empty since upstream removed `xds-server-type`.
    #[serde(deserialize_with = "nullable")]
    pub server: ServerParameters,
    /// `gateway`.
    #[serde(deserialize_with = "nullable")]
    pub gateway: Option<GatewayParameters>,
    /// `ingress-status-address`.
    #[serde(rename = "ingress-status-address", deserialize_with = "nullable")]
    pub ingress_status_address: String,
    /// `accesslog-format`.
    #[serde(rename = "accesslog-format", deserialize_with = "nullable")]
    pub accesslog_format: AccessLogFormat,
    /// `accesslog-format-string`.
    #[serde(
        rename = "accesslog-format-string",
        deserialize_with = "values::format_string"
    )]
    pub accesslog_format_string: String,
    /// `json-fields`.
    #[serde(rename = "json-fields", deserialize_with = "values::json_fields")]
    pub json_fields: Vec<String>,
    /// `accesslog-level`.
    #[serde(rename = "accesslog-level", deserialize_with = "nullable")]
    pub accesslog_level: AccessLogLevel,
    /// `tls`.
    #[serde(deserialize_with = "nullable")]
    pub tls: TlsParameters,
    /// `disablePermitInsecure`.
    #[serde(rename = "disablePermitInsecure")]
    pub disable_permit_insecure: bool,
    /// `disableAllowChunkedLength`.
    #[serde(rename = "disableAllowChunkedLength")]
    pub disable_allow_chunked_length: bool,
    /// `disableMergeSlashes`.
    #[serde(rename = "disableMergeSlashes")]
    pub disable_merge_slashes: bool,
    /// `compression`.
    #[serde(deserialize_with = "nullable")]
    pub compression: CompressionParameters,
    /// `serverHeaderTransformation`.
    #[serde(rename = "serverHeaderTransformation", deserialize_with = "nullable")]
    pub server_header_transformation: ServerHeaderTransformation,
    /// `enableExternalNameService`.
    #[serde(rename = "enableExternalNameService")]
    pub enable_external_name_service: bool,
    /// `timeouts`.
    #[serde(deserialize_with = "nullable")]
    pub timeouts: TimeoutParameters,
    /// `policy`.
    #[serde(deserialize_with = "nullable")]
    pub policy: PolicyParameters,
    /// `envoy-service-namespace`.
    #[serde(rename = "envoy-service-namespace", deserialize_with = "nullable")]
    pub envoy_service_namespace: String,
    /// `envoy-service-name`.
    #[serde(rename = "envoy-service-name", deserialize_with = "nullable")]
    pub envoy_service_name: String,
    /// `default-http-versions` (empty: both).
    #[serde(rename = "default-http-versions", deserialize_with = "nullable")]
    pub default_http_versions: Vec<HttpVersion>,
    /// `cluster`.
    #[serde(deserialize_with = "nullable")]
    pub cluster: ClusterParameters,
    /// `network`.
    #[serde(deserialize_with = "nullable")]
    pub network: NetworkParameters,
    /// `listener`.
    #[serde(deserialize_with = "nullable")]
    pub listener: ListenerParameters,
    /// `rateLimitService`.
    #[serde(rename = "rateLimitService", deserialize_with = "nullable")]
    pub rate_limit_service: RateLimitService,
    /// `globalExtAuth`.
    #[serde(rename = "globalExtAuth", deserialize_with = "nullable")]
    pub global_ext_auth: GlobalExternalAuthorization,
    /// `metrics`.
    #[serde(deserialize_with = "nullable")]
    pub metrics: MetricsParameters,
    /// `tracing`.
    #[serde(deserialize_with = "nullable")]
    pub tracing: Option<Tracing>,
    /// `featureFlags`: accepted and unused, as upstream (its allow-list is empty and never
    /// consulted).
    #[serde(rename = "featureFlags", deserialize_with = "nullable")]
    pub feature_flags: Vec<String>,
    /// `omEnforcedHealthListener`.
    #[serde(rename = "omEnforcedHealthListener", deserialize_with = "nullable")]
    pub om_enforced_health_listener: Option<OmEnforcedHealthListener>,
    /// `runtime-settings`: extra Envoy runtime keys (managed keys win).
    #[serde(rename = "runtime-settings", deserialize_with = "nullable")]
    pub runtime_settings: BTreeMap<String, String>,
}

/// `server`: no keys left.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerParameters {}

/// `compression`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompressionParameters {
    #[serde(deserialize_with = "nullable")]
    pub algorithm: CompressionAlgorithm,
}

impl Default for Parameters {
    /// Upstream's `config.Defaults()`. The Envoy Service namespace comes from
    /// `CONTOUR_NAMESPACE` (default `projectcontour`); `kubeconfig` from `$HOME`.
    fn default() -> Self {
        let home = std::env::var("HOME").unwrap_or_default();
        Parameters {
            debug: false,
            incluster: false,
            kubeconfig: format!("{home}/.kube/config"),
            kubernetes_client_qps: 0.0,
            kubernetes_client_burst: 0,
            server: ServerParameters::default(),
            gateway: None,
            ingress_status_address: String::new(),
            accesslog_format: AccessLogFormat::Envoy,
            accesslog_format_string: String::new(),
            json_fields: accesslog::DEFAULT_JSON_FIELDS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            accesslog_level: AccessLogLevel::Info,
            tls: TlsParameters::default(),
            disable_permit_insecure: false,
            disable_allow_chunked_length: false,
            disable_merge_slashes: false,
            compression: CompressionParameters::default(),
            server_header_transformation: ServerHeaderTransformation::Overwrite,
            enable_external_name_service: false,
            timeouts: TimeoutParameters::default(),
            policy: PolicyParameters::default(),
            envoy_service_namespace: std::env::var("CONTOUR_NAMESPACE")
                .unwrap_or_else(|_| "projectcontour".into()),
            envoy_service_name: "envoy".into(),
            default_http_versions: Vec::new(),
            cluster: ClusterParameters::default(),
            network: NetworkParameters::default(),
            listener: ListenerParameters::default(),
            rate_limit_service: RateLimitService::default(),
            global_ext_auth: GlobalExternalAuthorization::default(),
            metrics: MetricsParameters::default(),
            tracing: None,
            feature_flags: Vec::new(),
            om_enforced_health_listener: None,
            runtime_settings: BTreeMap::new(),
        }
    }
}

impl Parameters {
    /// Parses and validates a contour.yaml. An empty file (or one with only comments) gives
    /// the defaults.
    pub fn parse(text: &str) -> Result<Parameters, ConfigError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let params = if locate::has_content(text) {
            serde_norway::from_str::<Parameters>(text).map_err(|e| locate::parse_error(text, e))?
        } else {
            Parameters::default()
        };
        if let Some(key) = nested::unknown_key(text) {
            let (parent, last) = key.rsplit_once('.').unwrap_or(("", &key));
            // The line of the key, found through its parents without list indices.
            let unindexed: String = format!("{parent}.{last}")
                .split('.')
                .map(|p| p.split('[').next().unwrap_or(p))
                .collect::<Vec<_>>()
                .join(".");
            return Err(ConfigError {
                line: locate::key_line(text, &unindexed),
                message: format!("unknown field `{last}`"),
                key,
            });
        }
        params.validate().map_err(|(key, message)| ConfigError {
            line: locate::key_line(text, &key),
            key,
            message,
        })?;
        Ok(params)
    }

    /// Rules that relate several keys: `(key path, message)` of the first one broken.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let fail = |key: &str, msg: String| Err((key.to_string(), msg));
        if let Some(g) = &self.gateway
            && (g.gateway_ref.name.is_empty() || g.gateway_ref.namespace.is_empty())
        {
            return fail(
                "gateway.gatewayRef",
                "invalid Gateway parameters specified: gateway ref namespace and name must be provided".into(),
            );
        }
        for (key, n) in [
            ("tls.fallback-certificate", &self.tls.fallback_certificate),
            (
                "tls.envoy-client-certificate",
                &self.tls.envoy_client_certificate,
            ),
        ] {
            if !n.is_empty() && n.namespace.trim().is_empty() {
                return fail(key, "namespace must be defined".into());
            }
            if !n.is_empty() && n.name.trim().is_empty() {
                return fail(key, "name must be defined".into());
            }
        }
        let tls = &self.tls;
        check_versions(
            "tls",
            &tls.minimum_protocol_version,
            &tls.maximum_protocol_version,
        )?;
        let up = &self.cluster.upstream_tls;
        check_versions(
            "cluster.upstream-tls",
            &up.minimum_protocol_version,
            &up.maximum_protocol_version,
        )?;
        for (key, m) in [
            ("metrics.contour", &self.metrics.contour),
            ("metrics.envoy", &self.metrics.envoy),
        ] {
            if m.server_certificate_path.is_empty() != m.server_key_path.is_empty() {
                return fail(key, "you must supply at least server-certificate-path and server-key-path or none of them".into());
            }
            if !m.ca_certificate_path.is_empty() && m.server_certificate_path.is_empty() {
                return fail(key, "you must supply also server-certificate-path and server-key-path if setting ca-certificate-path".into());
            }
        }
        if let Some(t) = &self.tracing {
            validate_tracing(t)?;
        }
        Ok(())
    }
}

fn check_versions(section: &str, min: &str, max: &str) -> Result<(), (String, String)> {
    let min = if min.is_empty() { "1.2" } else { min };
    let max = if max.is_empty() { "1.3" } else { max };
    if max < min {
        return Err((
            format!("{section}.minimum-protocol-version"),
            "the minimum TLS protocol version is greater than the maximum TLS protocol version"
                .into(),
        ));
    }
    Ok(())
}

fn validate_tracing(t: &Tracing) -> Result<(), (String, String)> {
    if t.extension_service.is_empty() {
        return Err((
            "tracing.extensionService".into(),
            "tracing.extensionService must be defined".into(),
        ));
    }
    let mut seen: Vec<&str> = Vec::new();
    for tag in &t.custom_tags {
        let key = "tracing.customTags".to_string();
        if tag.tag_name.is_empty() {
            return Err((key, "tracing.customTag.tagName must be defined".into()));
        }
        if seen.contains(&tag.tag_name.as_str()) {
            return Err((key, format!("tagName {} is duplicate", tag.tag_name)));
        }
        if tag.literal.is_empty() == tag.request_header_name.is_empty() {
            return Err((
                key,
                "must set exactly one of Literal or RequestHeaderName".into(),
            ));
        }
        seen.push(&tag.tag_name);
    }
    Ok(())
}
