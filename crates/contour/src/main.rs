//! The `contour` binary.

mod bootstrap;
mod certgen;
mod cli;
mod envoy_cmd;
mod manifests;
mod metrics;
mod serve;
mod settings;
mod validate;
mod version;
mod xds_cli;

use tracing_subscriber::EnvFilter;

/// jemalloc instead of glibc's malloc: see docs/performance.md (allocator).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use cli::{Cli, Command, LogFormat};

fn init_logging(format: LogFormat, default: &str) {
    let filter = EnvFilter::try_from_env("CONTOUR_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.with_ansi(false).init(),
    }
}

/// contour.yaml's `debug: true`, read early to set up logging (errors are reported later).
fn file_debug(args: &cli::ServeArgs) -> bool {
    args.config_path
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| contour_api::config::Parameters::parse(&t).ok())
        .is_some_and(|p| p.debug)
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse_with_sources();
    // `validate` reports problems itself; its log only shows errors unless CONTOUR_LOG says.
    let level = match &cli.command {
        Command::Serve(a) if a.debug || file_debug(a) => "debug",
        Command::Validate(_) => "error",
        _ => "info",
    };
    init_logging(cli.log_format, level);
    let result = match cli.command {
        Command::Validate(args) => return validate::run(*args),
        Command::Version => {
            println!("{}", version::build_info_json());
            Ok(())
        }
        Command::Bootstrap(args) => bootstrap::run(*args),
        Command::Cli(args) => xds_cli::run(*args),
        Command::Certgen(args) => certgen::run(*args),
        Command::Envoy(cmd) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(envoy_cmd::run(cmd))),
        Command::Serve(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(serve::run(*args))),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("contour: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
