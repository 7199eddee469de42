//! Contour's configuration, resolved once at startup: `--contour-config-name` (a
//! ContourConfiguration) or flags + `--config-path` (contour.yaml), laid over upstream's
//! built-in defaults and validated, then split into what the DAG build, the Envoy translation
//! and the process itself need.

mod crd;
mod from_file;
mod translate;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use contour_api::config::Parameters;
use contour_api::v1alpha1::{
    ContourConfiguration, ContourConfigurationSpec, overlay_on_defaults,
    validate_contour_configuration,
};
use contour_dag::BuildConfig;
use contour_envoy::TranslateConfig;
use tracing::{info, warn};

use crate::cli::ServeArgs;

pub use crd::fetch_contour_configuration;
pub use from_file::spec_from_flags_and_file;
pub use translate::{build_config, translate_config};

/// Where the configuration came from, for `/debug/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSource {
    pub namespace: String,
    pub name: String,
    /// Its `metadata.generation` (the `observedGeneration` of its `Valid` condition).
    pub generation: Option<i64>,
}

/// The files of contour's HTTPS metrics server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsTls {
    pub cert_file: std::path::PathBuf,
    pub key_file: std::path::PathBuf,
    /// With a CA, clients must present a certificate it signed.
    pub ca_file: Option<std::path::PathBuf>,
}

/// Everything `contour serve` runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The merged spec (defaults + user settings).
    pub spec: ContourConfigurationSpec,
    pub build: BuildConfig,
    pub translate: TranslateConfig,
    pub ingress_class_names: Vec<String>,
    pub xds: SocketAddr,
    pub metrics: SocketAddr,
    pub health: SocketAddr,
    pub debug: SocketAddr,
    /// Serve xDS without TLS (`--insecure` or `xdsServer.tls.insecure`).
    pub insecure: bool,
    /// The ContourConfiguration used, when `--contour-config-name` was given.
    pub contour_configuration: Option<ConfigSource>,
    /// `metrics.contour` TLS: contour's metrics server (and health, on the same address) over
    /// HTTPS.
    pub metrics_tls: Option<MetricsTls>,
    /// Kubernetes client rate limit: the flags, else the file's `kubernetesClientQPS` /
    /// `kubernetesClientBurst` (0 means unset, as upstream).
    pub client_qps: Option<f32>,
    pub client_burst: Option<u32>,
    /// How to reach the API server: `--kubeconfig` / `--incluster`, else the file's
    /// `kubeconfig` (when it names another file than the default `~/.kube/config`, which
    /// kube-rs's inference reads anyway) / `incluster`.
    pub kubeconfig: Option<PathBuf>,
    pub incluster: bool,
}

/// Reads, merges and validates the configuration; errors name the file key or spec field.
#[cfg(test)]
pub fn resolve(args: &ServeArgs) -> anyhow::Result<Settings> {
    resolve_with(args, None)
}

/// The namespace of `--contour-config-name` (and of leader election): `$CONTOUR_NAMESPACE`.
pub fn contour_namespace() -> String {
    std::env::var("CONTOUR_NAMESPACE").unwrap_or_else(|_| "projectcontour".into())
}

/// As [`resolve`], with the ContourConfiguration already read from the API server (Kubernetes
/// mode with `--contour-config-name`, see [`fetch_contour_configuration`]).
pub fn resolve_with(
    args: &ServeArgs,
    from_api: Option<ContourConfiguration>,
) -> anyhow::Result<Settings> {
    if args.config_path.is_some() && args.contour_config_name.is_some() {
        bail!("cannot specify both --contour-config-name and -c/--config-path");
    }
    let mut client_limits = (None, None);
    let mut file_client = (None, false);
    let (user, source) = match &args.contour_config_name {
        Some(name) => {
            let namespace = contour_namespace();
            let cc = match (&args.manifests, from_api) {
                (Some(dir), _) => crd::load_from_dir(dir, &namespace, name)?,
                (None, Some(cc)) => cc,
                (None, None) => bail!("ContourConfiguration {namespace}/{name} was not read"),
            };
            info!(
                namespace,
                name, "using ContourConfiguration; configuration flags are ignored"
            );
            let generation = cc.metadata.generation;
            (
                cc.spec,
                Some(ConfigSource {
                    namespace,
                    name: name.clone(),
                    generation,
                }),
            )
        }
        None => {
            let params = read_file(args)?;
            client_limits = (
                Some(params.kubernetes_client_qps),
                Some(params.kubernetes_client_burst),
            );
            let default_kubeconfig = Parameters::default().kubeconfig;
            file_client = (
                Some(params.kubeconfig.clone())
                    .filter(|k| !k.is_empty() && *k != default_kubeconfig)
                    .map(PathBuf::from),
                params.incluster,
            );
            (spec_from_flags_and_file(args, &params), None)
        }
    };
    let spec = overlay_on_defaults(&user);
    validate_contour_configuration(&spec)
        .map_err(anyhow::Error::msg)
        .context("invalid Contour configuration")?;
    let mut settings = settings_of(spec, source, args.insecure)?;
    settings.client_qps = args
        .kubernetes_client_qps
        .or(client_limits.0)
        .filter(|q| *q > 0.0);
    settings.client_burst = args
        .kubernetes_client_burst
        .or(client_limits.1)
        .filter(|b| *b > 0);
    settings.kubeconfig = args.kubeconfig.clone().or(file_client.0);
    settings.incluster = args.incluster || file_client.1;
    settings.translate.http_route_scopes = args.http_route_scopes.unwrap_or(0);
    Ok(settings)
}

fn read_file(args: &ServeArgs) -> anyhow::Result<Parameters> {
    let Some(path) = &args.config_path else {
        return Ok(Parameters::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading configuration file {}", path.display()))?;
    let params = Parameters::parse(&text)
        .with_context(|| format!("invalid Contour configuration in {}", path.display()))?;
    if !params.feature_flags.is_empty() {
        warn!(flags = ?params.feature_flags, "featureFlags are accepted and have no effect");
    }
    info!(path = %path.display(), "read configuration file");
    Ok(params)
}

fn settings_of(
    spec: ContourConfigurationSpec,
    source: Option<ConfigSource>,
    insecure_flag: bool,
) -> anyhow::Result<Settings> {
    let addr = |host: Option<(String, i32)>, what: &str| -> anyhow::Result<SocketAddr> {
        let (address, port) = host.unwrap_or_default();
        let ip: std::net::IpAddr = address
            .parse()
            .with_context(|| format!("{what}: {address:?} is not an IP address"))?;
        let port = u16::try_from(port).with_context(|| format!("{what}: bad port {port}"))?;
        Ok(SocketAddr::new(ip, port))
    };
    let xds = spec.xds_server.clone().unwrap_or_default();
    let metrics = spec.metrics.clone().unwrap_or_default();
    let health = spec.health.clone().unwrap_or_default();
    let debug = spec.debug.clone().unwrap_or_default();
    let insecure = insecure_flag || xds.tls.as_ref().and_then(|t| t.insecure).unwrap_or(false);
    // As upstream's httpsvc: TLS when both a certificate and a key are given.
    let metrics_tls = metrics
        .tls
        .as_ref()
        .filter(|t| !t.cert_file.is_empty() && !t.key_file.is_empty())
        .map(|t| MetricsTls {
            cert_file: t.cert_file.clone().into(),
            key_file: t.key_file.clone().into(),
            ca_file: Some(t.ca_file.clone())
                .filter(|c| !c.is_empty())
                .map(Into::into),
        });
    let translate = translate_config(&spec)?;
    for (what, address) in [
        ("envoy metrics address", &translate.stats_address),
        ("envoy health address", &translate.health_address),
    ] {
        address
            .parse::<std::net::IpAddr>()
            .with_context(|| format!("{what}: {address:?} is not an IP address"))?;
    }
    Ok(Settings {
        build: build_config(&spec),
        ingress_class_names: spec
            .ingress
            .as_ref()
            .map(|i| i.class_names.clone())
            .unwrap_or_default(),
        xds: addr(Some((xds.address, xds.port)), "xds address")?,
        metrics: addr(Some((metrics.address, metrics.port)), "metrics address")?,
        health: addr(Some((health.address, health.port)), "health address")?,
        debug: addr(Some((debug.address, debug.port)), "debug address")?,
        insecure,
        translate,
        spec,
        contour_configuration: source,
        metrics_tls,
        client_qps: None,
        client_burst: None,
        kubeconfig: None,
        incluster: false,
    })
}

#[cfg(test)]
mod tests;
