//! `contour-bench scale`: generates a cluster into a manifests directory, runs the release
//! `contour serve --manifests` with real Envoy, and prints what it measured beside the targets.
//! See docs/performance.md.

mod ads;
mod env;
mod loopback;
mod phases;
mod probes;
mod report;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use contour_bench::generate::{Shape, cluster};
use serde_json::{Value, json};

use env::{BenchEnv, all_acked, last_ack_ms, peak_rss_mb, rss_mb};
use probes::Change;
use report::{Report, ms, percentile};

#[derive(Parser)]
#[command(name = "contour-bench")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Measure cold start, propagation, build time and memory at scale.
    Scale {
        /// HTTPProxies (and Services, each with 3 endpoints) to generate.
        #[arg(long, default_value_t = 1000)]
        proxies: usize,
        /// Unrelated Secrets to add in a second run, to measure what they cost in memory.
        #[arg(long)]
        secrets: Option<usize>,
        /// Lightweight ADS clients to run beside the real Envoy (fan-out).
        #[arg(long)]
        envoys: Option<usize>,
        /// Changes measured per probe.
        #[arg(long, default_value_t = 100)]
        changes: usize,
        /// Print one JSON object instead of the table.
        #[arg(long)]
        json: bool,
        /// Run contour with `--http-route-scopes N` (the plain hosts in N route
        /// configurations instead of one `ingress_http`).
        #[arg(long, value_name = "N")]
        http_route_scopes: Option<u16>,
    },
    /// Time each phase of one in-process build (load, build, translate, EDS) without Envoy.
    Phases {
        #[arg(long, default_value_t = 10000)]
        proxies: usize,
        /// Unrelated Secrets to add to the load.
        #[arg(long, default_value_t = 0)]
        secrets: usize,
        /// Route changes timed after the first build (the first four also time a full build
        /// beside the incremental one; more rounds are for profilers).
        #[arg(long, default_value_t = 4)]
        route_changes: usize,
    },
    /// Connect N ADS clients (subscribed like the fan-out's) to a running contour and keep them
    /// until interrupted (for profiling `contour serve` by hand).
    Clients {
        #[arg(long)]
        xds_port: u16,
        #[arg(long, default_value_t = 200)]
        n: usize,
        /// The route configuration to subscribe to.
        #[arg(long, default_value = "ingress_http")]
        route: String,
    },
    /// Push BYTES to N loopback connections with no protocol and print the time until every
    /// reader has them (the fan-out floor of this machine).
    Loopback {
        #[arg(long, default_value_t = 201)]
        n: usize,
        /// Default: `ingress_http` at 10k with the default access log.
        #[arg(long, default_value_t = 1_700_000)]
        bytes: usize,
    },
    /// Only write the generated cluster into DIR (for profiling `contour serve` by hand).
    Generate {
        #[arg(long, default_value_t = 1000)]
        proxies: usize,
        #[arg(long, default_value_t = 0)]
        secrets: usize,
        dir: std::path::PathBuf,
    },
}

/// Envoy alone needs about 100 s to warm 10,000 clusters on a loaded 2-core machine.
const LONG: Duration = Duration::from_secs(300);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (proxies, secrets, envoys, changes, json, scopes) = match Cli::parse().command {
        Command::Scale {
            proxies,
            secrets,
            envoys,
            changes,
            json,
            http_route_scopes,
        } => (proxies, secrets, envoys, changes, json, http_route_scopes),
        Command::Phases {
            proxies,
            secrets,
            route_changes,
        } => return phases::phases(proxies, secrets, route_changes),
        Command::Clients { xds_port, n, route } => {
            let _clients = ads::Clients::start(n, xds_port, &route).await?;
            eprintln!("{n} ADS clients have the route configuration; Ctrl-C ends them");
            tokio::signal::ctrl_c().await?;
            return Ok(());
        }
        Command::Loopback { n, bytes } => {
            for readers in [loopback::Readers::Drop, loopback::Readers::Collect] {
                let p50 = loopback::median_floor(n, bytes, readers).await?;
                println!("{n} readers, {bytes} bytes each, {readers:?}: p50 {p50:.1} ms");
            }
            return Ok(());
        }
        Command::Generate {
            proxies,
            secrets,
            dir,
        } => {
            for (rel, yaml) in cluster(Shape {
                proxies,
                unrelated_secrets: secrets,
            }) {
                env::write_file(&dir, &rel, &yaml)?;
            }
            return Ok(());
        }
    };
    let mut r = Report::default();
    r.set("proxies", proxies as f64);
    if let Some(n) = scopes {
        r.set("http_route_scopes", f64::from(n));
    }
    let files = cluster(Shape {
        proxies,
        unrelated_secrets: 0,
    });
    let mut env = cold_start(&files, scopes, &mut r).await?;
    envoy_start(&mut env, &mut r).await?;
    route_and_endpoint_changes(&env, changes, &mut r).await?;
    if let Some(n) = envoys {
        fanout(&env, n, &mut r).await?;
    }
    let xds = env.debug_xds().await?;
    let builds: Vec<f64> = serde_json::from_value(xds["build_ms"].clone()).unwrap_or_default();
    r.set("build_ms", percentile(&builds, 50.0));
    r.set("build_max_ms", builds.iter().copied().fold(0.0, f64::max));
    r.set(
        "contour_rss_mb",
        peak_rss_mb(env.contour.pid().unwrap_or(0)).unwrap_or(f64::NAN),
    );
    let envoy_pid = env.envoy.as_ref().and_then(|e| e.pid()).unwrap_or(0);
    r.set("envoy_rss_mb", peak_rss_mb(envoy_pid).unwrap_or(f64::NAN));
    drop(env);
    if let Some(u) = secrets {
        secrets_cost(proxies, u, scopes, &mut r).await?;
    }
    targets(&mut r, proxies);
    if json {
        println!("{}", serde_json::to_string_pretty(&r.json())?);
    } else {
        print!("{}", r.table());
    }
    Ok(())
}

async fn cold_start(
    files: &[(String, String)],
    scopes: Option<u16>,
    r: &mut Report,
) -> anyhow::Result<BenchEnv> {
    // The probes are part of the initial load.
    let env = BenchEnv::start(files, true, scopes).await?;
    let first = env
        .wait_xds(LONG, "the first build", |x| x["first_build_ms"].as_f64())
        .await?;
    r.set("cold_start_ms", first);
    r.set(
        "contour_rss_after_start_mb",
        peak_rss_mb(env.contour.pid().unwrap_or(0)).unwrap_or(f64::NAN),
    );
    Ok(env)
}

async fn envoy_start(env: &mut BenchEnv, r: &mut Report) -> anyhow::Result<()> {
    env.start_envoy()?;
    env.wait_xds(LONG, "Envoy to ACK the full configuration", |x| {
        all_acked(x).then_some(())
    })
    .await?;
    // ACKs of each type's version do not mean Envoy is done: it opens one stream per RDS, EDS
    // and SDS name while clusters and listeners warm. Changes measured before that would count
    // the warm-up's first responses as pushes of the change.
    wait_envoy_warm(env).await?;
    wait_xds_quiet(env).await?;
    let xds = env.debug_xds().await?;
    let last = last_ack_ms(&xds).context("no ACK recorded")?;
    let first_response = xds["first_response_ms"]
        .as_f64()
        .context("no response recorded")?;
    let ready = xds["first_build_ms"].as_f64().unwrap_or(f64::NAN);
    r.set("envoy_acked_ms", last);
    r.set("envoy_own_ms", last - first_response);
    r.set("envoy_connect_ms", first_response - ready);
    r.set(
        "envoy_ack_vs_own_ratio",
        (last - ready) / (last - first_response).max(1.0),
    );
    // Where the peak comes from: Envoy's streams (one per route configuration, cluster and
    // secret) are all open now; the fan-out's clients come later.
    let pid = env.contour.pid().unwrap_or(0);
    r.set(
        "contour_rss_with_envoy_mb",
        rss_mb(pid, "VmRSS").unwrap_or(f64::NAN),
    );
    r.set(
        "contour_peak_with_envoy_mb",
        peak_rss_mb(pid).unwrap_or(f64::NAN),
    );
    r.set(
        "xds_streams",
        xds["streams"].as_array().map_or(0, Vec::len) as f64,
    );
    Ok(())
}

/// How long nothing may happen on the xDS server before the changes start.
const QUIET: Duration = Duration::from_secs(2);

/// Waits until no stream has opened and no response was sent for [`QUIET`]: Envoy still opens
/// SDS and EDS streams for a while after its warming counters reach zero (more so on a loaded
/// machine), and their first responses must not be counted as pushes of the first changes.
async fn wait_xds_quiet(env: &BenchEnv) -> anyhow::Result<()> {
    let activity = |x: &Value| {
        let responses: u64 = x["totals"]
            .as_object()
            .map(|t| t.values().filter_map(|v| v["responses"].as_u64()).sum())
            .unwrap_or(0);
        let streams = x["streams"].as_array().map_or(0, Vec::len);
        (responses, streams)
    };
    let deadline = Instant::now() + LONG;
    let mut last = activity(&env.debug_xds().await?);
    let mut since = Instant::now();
    while since.elapsed() < QUIET {
        if Instant::now() > deadline {
            anyhow::bail!("the xDS server was still busy after {LONG:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = activity(&env.debug_xds().await?);
        if now != last {
            last = now;
            since = Instant::now();
        }
    }
    Ok(())
}

/// Waits until Envoy has no cluster and no listener warming.
async fn wait_envoy_warm(env: &BenchEnv) -> anyhow::Result<()> {
    let envoy = env.envoy.as_ref().context("Envoy is running")?;
    let deadline = Instant::now() + LONG;
    loop {
        let mut warming = 0;
        for stat in [
            "cluster_manager.warming_clusters",
            "listener_manager.total_listeners_warming",
        ] {
            warming += envoy.stat(stat).await?.unwrap_or(1);
        }
        if warming == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!("Envoy still warms {warming} clusters or listeners after {LONG:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn summarize(changes: &[Change]) -> (Vec<f64>, f64, Value) {
    let lat: Vec<f64> = changes.iter().map(|c| ms(c.latency)).collect();
    let builds: f64 = changes.iter().map(|c| c.builds).sum();
    let mut by_type: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for c in changes {
        for (t, n, b) in &c.responses {
            let e = by_type.entry(t.clone()).or_default();
            e.0 += n;
            e.1 += b;
        }
    }
    let n = changes.len().max(1) as f64;
    let per: BTreeMap<String, Value> = by_type
        .into_iter()
        .map(|(t, (resp, bytes))| (t, json!({"responses_per_change": resp as f64 / n, "bytes_per_change": bytes as f64 / n})))
        .collect();
    (lat, builds, json!(per))
}

fn rds_ack_floor(xds: &Value, samples: usize) -> Vec<f64> {
    let all: Vec<f64> = xds["totals"]["type.googleapis.com/envoy.config.route.v3.RouteConfiguration"]["ack_latency_ms"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    all[all.len().saturating_sub(samples)..].to_vec()
}

async fn route_and_endpoint_changes(
    env: &BenchEnv,
    n: usize,
    r: &mut Report,
) -> anyhow::Result<()> {
    let route = probes::route_changes(env, n, |_| {}).await?;
    let (lat, builds, per_type) = summarize(&route);
    let floor = rds_ack_floor(&env.debug_xds().await?, n);
    r.set("route_p50_ms", percentile(&lat, 50.0));
    r.set("route_p99_ms", percentile(&lat, 99.0));
    r.set("route_builds_per_change", builds / n.max(1) as f64);
    r.set("route_p90_ms", percentile(&lat, 90.0));
    r.set("envoy_floor_p50_ms", percentile(&floor, 50.0));
    r.set("envoy_floor_p99_ms", percentile(&floor, 99.0));
    r.set(
        "route_vs_floor_ratio",
        percentile(&lat, 50.0) / percentile(&floor, 50.0).max(0.001),
    );
    let non_rds: f64 = per_type
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(t, _)| *t != "RouteConfiguration")
                .map(|(_, v)| v["responses_per_change"].as_f64().unwrap_or(0.0))
                .sum()
        })
        .unwrap_or(0.0);
    r.set("route_change_non_route_responses", non_rds);
    if let Some(p50) = envoy_rds_apply_p50_ms(env).await {
        r.set("envoy_rds_apply_p50_ms", p50);
    }
    r.set("route_change_xds", per_type);
    let ep = probes::endpoint_changes(env, n).await?;
    let (lat, builds, per_type) = summarize(&ep);
    r.set("endpoint_p50_ms", percentile(&lat, 50.0));
    r.set("endpoint_p99_ms", percentile(&lat, 99.0));
    r.set("endpoint_change_builds", builds);
    r.set("endpoint_change_xds", per_type);
    let (builds, pushes) = probes::identical_rewrite(env).await?;
    r.set("identical_input_builds", builds);
    r.set("identical_input_pushes", pushes as f64);
    Ok(())
}

/// Envoy's own time to apply an update of the probes' route configuration (its
/// `update_duration` histogram, P50 over the run): building that whole route table (all of
/// `ingress_http`, or one scope). VHDS would not avoid it (Envoy rebuilds the whole table on
/// each VHDS update too), so it bounds any per-host delivery.
async fn envoy_rds_apply_p50_ms(env: &BenchEnv) -> Option<f64> {
    let envoy = env.envoy.as_ref()?;
    let filter = format!("rds.{}.update_duration", env.route_config_name());
    let (_, body) = envoy
        .admin_get(&format!("/stats?format=json&filter={filter}"))
        .await
        .ok()?;
    let v: Value = serde_json::from_str(&body).ok()?;
    let hist = v["stats"]
        .as_array()?
        .iter()
        .find_map(|s| s.get("histograms"))?;
    let quantiles: Vec<f64> = serde_json::from_value(hist["supported_quantiles"].clone()).ok()?;
    let p50 = quantiles
        .iter()
        .position(|q| (*q - 50.0).abs() < f64::EPSILON)?;
    hist["computed_quantiles"].as_array()?.first()?["values"][p50]["cumulative"].as_f64()
}

async fn fanout(env: &BenchEnv, n: usize, r: &mut Report) -> anyhow::Result<()> {
    let clients = ads::Clients::start(n, env.ports.xds, &env.route_config_name()).await?;
    let pid = env.contour.pid().unwrap_or(0);
    r.set(
        "contour_peak_with_clients_mb",
        peak_rss_mb(pid).unwrap_or(f64::NAN),
    );
    let (mut lat, mut spread, mut cpu) = (Vec::new(), Vec::new(), Vec::new());
    let cpu_now = || contour_testkit::proc_cpu_ms(pid).unwrap_or(f64::NAN);
    for _ in 0..10 {
        let before = clients.versions();
        let (since, want) = probes::flip_route(env).await?;
        let cpu0 = cpu_now();
        let (all, first_to_last) = clients.wait_all_changed(&before, since, LONG).await?;
        cpu.push(cpu_now() - cpu0);
        // Envoy too, before the next change.
        probes::wait_backend(env.ports.http, probes::ROUTE_HOST, want, LONG).await?;
        lat.push(ms(all));
        spread.push(ms(first_to_last));
    }
    r.set("fanout_clients", n as f64);
    r.set("fanout_ms", percentile(&lat, 50.0));
    r.set("fanout_max_ms", lat.iter().copied().fold(0.0, f64::max));
    r.set("fanout_spread_p50_ms", percentile(&spread, 50.0));
    // Contour's CPU time for one change (build + pushing to every client): unlike the wall time,
    // it does not depend on what else the two cores are running.
    r.set("fanout_contour_cpu_ms", percentile(&cpu, 50.0));
    fanout_floor(n + 1, r).await
}

/// The same bytes pushed to as many loopback readers (the clients and Envoy) with no protocol:
/// the machine's floor under the fan-out, readers dropping the bytes and collecting them.
async fn fanout_floor(readers: usize, r: &mut Report) -> anyhow::Result<()> {
    let bytes = r.figures["route_change_xds"]["RouteConfiguration"]["bytes_per_change"]
        .as_f64()
        .unwrap_or(0.0) as usize;
    let drop = loopback::median_floor(readers, bytes, loopback::Readers::Drop).await?;
    let collect = loopback::median_floor(readers, bytes, loopback::Readers::Collect).await?;
    r.set("fanout_floor_bytes", bytes as f64);
    r.set("fanout_floor_ms", drop);
    r.set("fanout_floor_collect_ms", collect);
    Ok(())
}

/// A second, contour-only run with `u` unrelated Secrets added: the memory they cost.
async fn secrets_cost(
    proxies: usize,
    u: usize,
    scopes: Option<u16>,
    r: &mut Report,
) -> anyhow::Result<()> {
    let files = cluster(Shape {
        proxies,
        unrelated_secrets: u,
    });
    let env = BenchEnv::start(&files, false, scopes).await?;
    env.wait_xds(LONG, "the first build (with secrets)", |x| {
        x["first_build_ms"].as_f64()
    })
    .await?;
    let with = peak_rss_mb(env.contour.pid().unwrap_or(0)).unwrap_or(f64::NAN);
    let base = r
        .figures
        .get("contour_rss_after_start_mb")
        .and_then(Value::as_f64)
        .unwrap_or(f64::NAN);
    r.set("secrets", u as f64);
    r.set("secrets_extra_rss_mb", with - base);
    Ok(())
}

fn targets(r: &mut Report, n: usize) {
    r.notes.push(format!(
        "targets are set for N = 10,000; this run has N = {n}"
    ));
    r.target(
        "cold_start_ms",
        "cold start: built and serving <= 1500 ms",
        1500.0,
    );
    r.target(
        "envoy_ack_vs_own_ratio",
        "Envoy ACKed all within its own time + 10% (ratio <= 1.1)",
        1.1,
    );
    r.target("route_p50_ms", "route change p50 <= 150 ms", 150.0);
    r.notes.extend(report::floor_note(r, 150.0));
    r.target("route_p99_ms", "route change p99 <= 500 ms", 500.0);
    r.target("endpoint_p50_ms", "endpoint change p50 <= 50 ms", 50.0);
    r.target("build_ms", "full build + translate <= 150 ms", 150.0);
    r.target("contour_rss_mb", "contour peak RSS <= 200 MB", 200.0);
    r.target(
        "secrets_extra_rss_mb",
        "unrelated Secrets add <= 20 MB",
        20.0,
    );
    r.target(
        "endpoint_change_builds",
        "endpoint change triggers no build",
        0.0,
    );
    r.target(
        "route_change_non_route_responses",
        "route change re-sends only route configurations",
        0.0,
    );
    r.target("identical_input_pushes", "identical input: no push", 0.0);
    r.target(
        "fanout_ms",
        "ADS clients all receive a route change <= 300 ms",
        300.0,
    );
}
