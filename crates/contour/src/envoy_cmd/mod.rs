//! `contour envoy ...`: helpers that run beside Envoy for graceful rollouts.

mod admin;
mod shutdown;
mod shutdown_manager;

use crate::cli::{EnvoyCommand, parse_duration};

pub async fn run(cmd: EnvoyCommand) -> anyhow::Result<()> {
    match cmd {
        EnvoyCommand::ShutdownManager(a) => shutdown_manager::run(a.serve_port, a.ready_file).await,
        EnvoyCommand::Shutdown(a) => {
            let opts = shutdown::ShutdownOptions {
                admin: admin::Admin::from_flags(&a.admin_address, a.admin_port),
                check_delay: parse_duration(&a.check_delay)?,
                check_interval: parse_duration(&a.check_interval)?,
                drain_delay: parse_duration(&a.drain_delay)?,
                min_open_connections: a.min_open_connections,
                ready_file: a.ready_file,
            };
            shutdown::run(opts).await
        }
    }
}
