//! Command line: upstream's subcommands and flags, with upstream's names and defaults.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "contour", about = "Contour Kubernetes ingress controller.", version = crate::version::VERSION)]
pub struct Cli {
    /// Log output format for Contour. Either text or json.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve xDS API traffic.
    Serve(Box<ServeArgs>),
    /// Generate bootstrap configuration.
    Bootstrap(Box<BootstrapArgs>),
    /// Generate new TLS certs for bootstrapping gRPC over TLS.
    Certgen(Box<CertgenArgs>),
    /// Build information for Contour.
    Version,
    /// Sub-command for envoy actions.
    #[command(subcommand)]
    Envoy(EnvoyCommand),
    /// Check a directory of manifests offline: build it as `serve --manifests` would and print
    /// every HTTPProxy and Ingress with its status (exit 0 all valid, 1 invalid or orphaned,
    /// 2 unreadable input).
    Validate(Box<ValidateArgs>),
    /// A debug xDS client: prints what contour serves.
    Cli(Box<crate::xds_cli::XdsCliArgs>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidateOutput {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The manifests directory.
    pub dir: PathBuf,
    /// Output format: a table for people, or JSON.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = ValidateOutput::Table)]
    pub output: ValidateOutput,
    /// Restrict contour to searching these namespaces for root ingress routes.
    #[arg(long)]
    pub root_namespaces: Option<String>,
    /// Contour IngressClass name (comma separated list allowed).
    #[arg(long)]
    pub ingress_class_name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AccessLogFormat {
    Envoy,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Feature {
    Extensionservices,
    Tlsroutes,
    Grpcroutes,
    Tcproutes,
    Backendtlspolicies,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Read Kubernetes objects from this directory of manifests instead of the Kubernetes API,
    /// and follow changes to it.
    #[arg(long, value_name = "DIR")]
    pub manifests: Option<PathBuf>,

    /// Spread the plain HTTP listener's hosts over N route configurations (2-1024) instead of
    /// one `ingress_http`, so that a route change makes Envoy rebuild one of them (beyond
    /// upstream; see docs/route-scopes.md).
    #[arg(long, value_name = "N", value_parser = parse_route_scopes)]
    pub http_route_scopes: Option<u16>,

    /// Path to base configuration.
    #[arg(short = 'c', long = "config-path", value_name = "PATH")]
    pub config_path: Option<PathBuf>,
    /// Name of ContourConfiguration CRD.
    #[arg(long)]
    pub contour_config_name: Option<String>,

    /// xDS gRPC API address.
    #[arg(long, default_value = "127.0.0.1")]
    pub xds_address: String,
    /// xDS gRPC API port.
    #[arg(long, default_value_t = 8001)]
    pub xds_port: u16,
    /// CA bundle file name for serving gRPC with TLS.
    #[arg(long, env = "CONTOUR_CAFILE")]
    pub contour_cafile: Option<PathBuf>,
    /// Contour certificate file name for serving gRPC over TLS.
    #[arg(long, env = "CONTOUR_CERT_FILE")]
    pub contour_cert_file: Option<PathBuf>,
    /// Contour key file name for serving gRPC over TLS.
    #[arg(long, env = "CONTOUR_KEY_FILE")]
    pub contour_key_file: Option<PathBuf>,
    /// Allow serving without TLS secured gRPC.
    #[arg(long)]
    pub insecure: bool,

    /// Envoy HTTP listener address.
    #[arg(long, default_value = "0.0.0.0")]
    pub envoy_service_http_address: String,
    /// Envoy HTTP listener port.
    #[arg(long, default_value_t = 8080)]
    pub envoy_service_http_port: u16,
    /// Envoy HTTPS listener address.
    #[arg(long, default_value = "0.0.0.0")]
    pub envoy_service_https_address: String,
    /// Envoy HTTPS listener port.
    #[arg(long, default_value_t = 8443)]
    pub envoy_service_https_port: u16,
    /// Envoy HTTP access log.
    #[arg(long, default_value = "/dev/stdout")]
    pub envoy_http_access_log: String,
    /// Envoy HTTPS access log.
    #[arg(long, default_value = "/dev/stdout")]
    pub envoy_https_access_log: String,

    /// Envoy /stats interface address.
    #[arg(long, default_value = "0.0.0.0")]
    pub stats_address: String,
    /// Envoy /stats interface port.
    #[arg(long, default_value_t = 8002)]
    pub stats_port: u16,
    /// Address the metrics HTTP endpoint will bind to.
    #[arg(long, default_value = "0.0.0.0")]
    pub http_address: String,
    /// Port the metrics HTTP endpoint will bind to.
    #[arg(long, default_value_t = 8000)]
    pub http_port: u16,
    /// Address the health HTTP endpoint will bind to.
    #[arg(long, default_value = "0.0.0.0")]
    pub health_address: String,
    /// Port the health HTTP endpoint will bind to.
    #[arg(long, default_value_t = 8000)]
    pub health_port: u16,
    /// Address the debug HTTP endpoint will bind to.
    #[arg(long, default_value = "127.0.0.1")]
    pub debug_http_address: String,
    /// Port the debug HTTP endpoint will bind to.
    #[arg(long, default_value_t = 6060)]
    pub debug_http_port: u16,

    /// Enable debug logging.
    #[arg(short = 'd', long)]
    pub debug: bool,
    /// Enable Kubernetes client debug logging with log level.
    #[arg(long)]
    pub kubernetes_debug: Option<u32>,
    /// Path to kubeconfig (if not in running inside a cluster).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Use in cluster configuration.
    #[arg(long)]
    pub incluster: bool,
    /// QPS allowed for the Kubernetes client.
    #[arg(long)]
    pub kubernetes_client_qps: Option<f32>,
    /// Burst allowed for the Kubernetes client.
    #[arg(long)]
    pub kubernetes_client_burst: Option<u32>,

    /// Contour IngressClass name (comma separated list allowed).
    #[arg(long)]
    pub ingress_class_name: Option<String>,
    /// Address to set in Ingress object status.
    #[arg(long)]
    pub ingress_status_address: Option<String>,
    /// Name of the Envoy service to inspect for Ingress status details.
    #[arg(long, default_value = "envoy")]
    pub envoy_service_name: String,
    /// Envoy Service Namespace.
    #[arg(long, env = "CONTOUR_NAMESPACE", default_value = "projectcontour")]
    pub envoy_service_namespace: String,
    /// Restrict contour to searching these namespaces for root ingress routes.
    #[arg(long)]
    pub root_namespaces: Option<String>,
    /// Restrict contour to watching these namespaces.
    #[arg(long)]
    pub watch_namespaces: Option<String>,
    /// Use PROXY protocol for all listeners.
    #[arg(long)]
    pub use_proxy_protocol: bool,
    /// Access log format.
    #[arg(long, value_enum)]
    pub accesslog_format: Option<AccessLogFormat>,
    /// Do not start an informer for the specified resources.
    #[arg(long, value_enum)]
    pub disable_feature: Vec<Feature>,

    /// Disable leader election mechanism.
    #[arg(long)]
    pub disable_leader_election: bool,
    /// The duration of the leadership lease.
    #[arg(long, default_value = "15s")]
    pub leader_election_lease_duration: String,
    /// The duration the leader will retry refreshing leadership before giving up.
    #[arg(long, default_value = "10s")]
    pub leader_election_renew_deadline: String,
    /// The interval which Contour will attempt to acquire leadership lease.
    #[arg(long, default_value = "2s")]
    pub leader_election_retry_period: String,
    /// The name of the resource (Lease) leader election will lease.
    #[arg(long, default_value = "leader-elect")]
    pub leader_election_resource_name: String,
    /// The namespace of the resource (Lease) leader election will lease.
    #[arg(long, env = "CONTOUR_NAMESPACE", default_value = "projectcontour")]
    pub leader_election_resource_namespace: String,

    /// Ids of the flags given on the command line (not defaults, not environment), so that
    /// they override contour.yaml while defaults and environment values do not.
    #[arg(skip)]
    pub explicit_flags: std::collections::BTreeSet<String>,
}

impl Cli {
    /// Parses the command line, recording which `serve` flags were given explicitly.
    pub fn parse_with_sources() -> Cli {
        use clap::{CommandFactory, FromArgMatches};
        let matches = Cli::command().get_matches();
        let mut cli = match Cli::from_arg_matches(&matches) {
            Ok(cli) => cli,
            Err(e) => e.exit(),
        };
        if let (Command::Serve(args), Some(("serve", sub))) =
            (&mut cli.command, matches.subcommand())
        {
            args.explicit_flags = sub
                .ids()
                .filter(|id| {
                    sub.value_source(id.as_str()) == Some(clap::parser::ValueSource::CommandLine)
                })
                .map(|id| id.as_str().to_string())
                .collect();
        }
        cli
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DnsLookupFamily {
    Auto,
    V4,
    V6,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum XdsMode {
    /// One aggregated (ADS) stream for listeners, clusters and runtime.
    Ads,
    /// Upstream Contour's shape: one gRPC stream per resource type.
    Grpc,
}

#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// The path to write the bootstrap configuration to; `-` writes to standard output.
    pub path: String,
    /// Path to Envoy admin unix domain socket.
    #[arg(long, default_value = "/admin/admin.sock")]
    pub admin_address: String,
    /// DEPRECATED: Envoy admin interface port.
    #[arg(long)]
    pub admin_port: Option<u16>,
    /// xDS gRPC API address.
    #[arg(long, default_value = "127.0.0.1")]
    pub xds_address: String,
    /// xDS gRPC API port.
    #[arg(long, default_value_t = 8001)]
    pub xds_port: u16,
    /// The host-compatible resource version for xDS ("v3").
    #[arg(long, default_value = "v3")]
    pub xds_resource_version: String,
    /// Directory where configuration files will be written to.
    #[arg(long)]
    pub resources_dir: Option<PathBuf>,
    /// CA Filename for Envoy secure xDS gRPC communication.
    #[arg(long, env = "ENVOY_CAFILE")]
    pub envoy_cafile: Option<PathBuf>,
    /// Client certificate filename for Envoy secure xDS gRPC communication.
    #[arg(long, env = "ENVOY_CERT_FILE")]
    pub envoy_cert_file: Option<PathBuf>,
    /// Client key filename for Envoy secure xDS gRPC communication.
    #[arg(long, env = "ENVOY_KEY_FILE")]
    pub envoy_key_file: Option<PathBuf>,
    /// The namespace the Envoy container will run in.
    #[arg(long, env = "CONTOUR_NAMESPACE", default_value = "projectcontour")]
    pub namespace: String,
    /// The requested DNS lookup family to use for the xDS cluster.
    #[arg(long, value_enum, default_value_t = DnsLookupFamily::Auto)]
    pub dns_lookup_family: DnsLookupFamily,
    /// How Envoy asks for its configuration: `ads` (default) or upstream's per-type `grpc` streams.
    #[arg(long, value_enum, default_value_t = XdsMode::Ads)]
    pub xds_mode: XdsMode,
}

#[derive(Debug, Args)]
pub struct CertgenArgs {
    /// Directory to write output files into.
    #[arg(default_value = "certs")]
    pub outputdir: PathBuf,
    /// Generated certificate lifetime (in days).
    #[arg(long, default_value_t = 365)]
    pub certificate_lifetime: u32,
    /// Use in cluster configuration.
    #[arg(long)]
    pub incluster: bool,
    /// Apply the generated certs directly to the current Kubernetes cluster.
    #[arg(long)]
    pub kube: bool,
    /// Path to kubeconfig (if not in running inside a cluster).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Kubernetes namespace, used for Kube objects.
    #[arg(long, env = "CONTOUR_NAMESPACE", default_value = "projectcontour")]
    pub namespace: String,
    /// Overwrite existing files or Secrets.
    #[arg(long)]
    pub overwrite: bool,
    /// Render the generated certs as individual PEM files to the current directory.
    #[arg(long)]
    pub pem: bool,
    /// Specify how to format the generated Kubernetes Secrets.
    #[arg(long, default_value = "legacy")]
    pub secrets_format: String,
    /// Specify a suffix to be appended to the generated Kubernetes secrets' names.
    #[arg(long, default_value = "")]
    pub secrets_name_suffix: String,
    /// Render the generated certs as Kubernetes Secrets in YAML form to the current directory.
    #[arg(long)]
    pub yaml: bool,
}

/// Splits a comma separated flag value, dropping empty entries.
pub fn comma_list(v: Option<&str>) -> Vec<String> {
    v.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// A duration flag, read as upstream's flags are (Go's `time.ParseDuration`: `15s`, `1m30s`,
/// `500ms`; a bare number other than `0` has no unit and is refused).
pub fn parse_duration(s: &str) -> anyhow::Result<std::time::Duration> {
    Ok(contour_api::duration::parse_go_duration(s.trim())?)
}

#[cfg(test)]
mod duration_tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("15s").unwrap(), Duration::from_secs(15));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(
            parse_duration("2").unwrap_err().to_string(),
            "time: missing unit in duration \"2\""
        );
        assert!(parse_duration("10 parsecs").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}

#[derive(Debug, Subcommand)]
pub enum EnvoyCommand {
    /// Start envoy shutdown-manager.
    ShutdownManager(ShutdownManagerArgs),
    /// Initiate an shutdown sequence which configures Envoy to begin draining connections.
    Shutdown(ShutdownArgs),
}

#[derive(Debug, Args)]
pub struct ShutdownManagerArgs {
    /// Port to serve the http server on.
    #[arg(long, default_value_t = 8090)]
    pub serve_port: u16,
    /// File to poll while waiting shutdown to be completed.
    #[arg(long, default_value = "/admin/ok")]
    pub ready_file: PathBuf,
}

#[derive(Debug, Args)]
pub struct ShutdownArgs {
    /// Envoy admin interface address (a Unix socket).
    #[arg(long, default_value = "/admin/admin.sock")]
    pub admin_address: String,
    /// DEPRECATED: Envoy admin interface port.
    #[arg(long)]
    pub admin_port: Option<u16>,
    /// Time to wait before polling Envoy for open connections.
    #[arg(long, default_value = "0s")]
    pub check_delay: String,
    /// Time to poll Envoy for open connections.
    #[arg(long, default_value = "5s")]
    pub check_interval: String,
    /// Time to wait before draining Envoy connections.
    #[arg(long, default_value = "0s")]
    pub drain_delay: String,
    /// Min number of open connections when polling Envoy.
    #[arg(long, default_value_t = 0)]
    pub min_open_connections: u64,
    /// File to write when shutdown is completed.
    #[arg(long, default_value = "/admin/ok")]
    pub ready_file: PathBuf,
}

fn parse_route_scopes(s: &str) -> Result<u16, String> {
    let range = contour_envoy::scopes::SCOPES_RANGE;
    s.parse::<u16>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            format!(
                "{s:?} is not a number of route scopes from {} to {}",
                range.start(),
                range.end()
            )
        })
}
