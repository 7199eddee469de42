//! `contour envoy shutdown`: drain Envoy before it stops.
//!
//! Fails Envoy's health check (`POST /healthcheck/fail`, so `/ready` answers 503 and load
//! balancers stop sending new connections), then polls the open downstream connections of the
//! `ingress_http`/`ingress_https` listeners every check interval until they are at most
//! `--min-open-connections` or `--drain-delay` has passed, and finally writes the ready file that
//! `contour envoy shutdown-manager`'s `/shutdown` waits for.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use tracing::{info, warn};

use super::admin::Admin;

/// The stats query upstream uses.
pub const OPEN_CONNECTIONS_PATH: &str =
    "/stats/prometheus?filter=%5Ehttp%5C..%2A%5C.downstream_cx_active%24";
const LISTENER_PREFIXES: [&str; 2] = ["ingress_http", "ingress_https"];

pub struct ShutdownOptions {
    pub admin: Admin,
    pub check_delay: Duration,
    pub check_interval: Duration,
    /// Upper bound on the wait for connections to drain (0: no bound).
    pub drain_delay: Duration,
    pub min_open_connections: u64,
    pub ready_file: PathBuf,
}

/// Open downstream connections of Contour's listeners in a Prometheus stats dump.
pub fn open_connections(prometheus: &str) -> u64 {
    prometheus
        .lines()
        .filter(|l| l.starts_with("envoy_http_downstream_cx_active"))
        .filter(|l| {
            LISTENER_PREFIXES
                .iter()
                .any(|p| l.contains(&format!("envoy_http_conn_manager_prefix=\"{p}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.trim().parse::<f64>().ok())
        .map(|v| v.max(0.0) as u64)
        .sum()
}

pub async fn run(opts: ShutdownOptions) -> anyhow::Result<()> {
    tokio::time::sleep(opts.check_delay).await;
    let (code, body) = opts.admin.request("POST", "/healthcheck/fail").await?;
    anyhow::ensure!(
        code == 200,
        "POST /healthcheck/fail answered {code}: {body}"
    );
    info!("failed Envoy's health check; waiting for connections to drain");
    let started = Instant::now();
    loop {
        match opts.admin.request("GET", OPEN_CONNECTIONS_PATH).await {
            Ok((200, stats)) => {
                let open = open_connections(&stats);
                info!(
                    open_connections = open,
                    min = opts.min_open_connections,
                    "checking open connections"
                );
                if open <= opts.min_open_connections {
                    break;
                }
            }
            Ok((code, _)) => warn!(code, "unexpected answer to the open connections query"),
            Err(e) => warn!(error = %e, "could not read Envoy's open connections"),
        }
        if !opts.drain_delay.is_zero() && started.elapsed() >= opts.drain_delay {
            info!(drain_delay = ?opts.drain_delay, "drain delay passed; stopping the wait");
            break;
        }
        tokio::time::sleep(opts.check_interval).await;
    }
    std::fs::write(&opts.ready_file, b"")
        .with_context(|| format!("writing the ready file {}", opts.ready_file.display()))?;
    info!(file = %opts.ready_file.display(), "Envoy drained; wrote the ready file");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_contour_listeners() {
        let stats = "# TYPE envoy_http_downstream_cx_active gauge\n\
            envoy_http_downstream_cx_active{envoy_http_conn_manager_prefix=\"admin\"} 1\n\
            envoy_http_downstream_cx_active{envoy_http_conn_manager_prefix=\"ingress_http\"} 3\n\
            envoy_http_downstream_cx_active{envoy_http_conn_manager_prefix=\"ingress_https\"} 2\n\
            envoy_http_downstream_cx_active{envoy_http_conn_manager_prefix=\"stats\"} 4\n";
        assert_eq!(open_connections(stats), 5);
        assert_eq!(open_connections(""), 0);
    }
}
