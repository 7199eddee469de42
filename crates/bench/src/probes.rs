//! Propagation probes: a route change and an endpoint change, each timed from the file write to
//! the first request through Envoy that shows the new behaviour.

use std::time::{Duration, Instant};

use anyhow::bail;
use contour_testkit::{EchoBackend, http_get};
use serde_json::Value;

use crate::env::{BenchEnv, write_file};

pub const ROUTE_HOST: &str = "probe.bench.local";
pub const EP_HOST: &str = "probe-ep.bench.local";
const ROUTE_FILE: &str = "probe/route.yaml";
const EP_FILE: &str = "probe/endpoints.yaml";
/// Changes are spaced so that each one is an isolated change (upstream's holdoff then builds at
/// once), which is what a user editing one object sees.
const SPACING: Duration = Duration::from_millis(600);
const CONVERGE: Duration = Duration::from_secs(30);

/// The probe manifests: two Services on the echo backends, a route probe and an endpoint probe.
pub fn manifests(a: &EchoBackend, b: &EchoBackend) -> Vec<(String, String)> {
    let mut services = String::new();
    for (name, backend) in [("probe-a", a), ("probe-b", b), ("probe-ep", a)] {
        services.push_str(&format!(
            "---\napiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: probe}}\n\
             spec:\n  ports:\n  - {{name: http, port: 80, targetPort: http}}\n"
        ));
        if name != "probe-ep" {
            services.push_str(&slice(name, backend.port()));
        }
    }
    let ep_proxy = proxy("probe-ep", EP_HOST, "probe-ep", None);
    vec![
        ("probe/services.yaml".into(), services + &ep_proxy),
        (ROUTE_FILE.into(), route_probe("probe-a", "probe-b")),
        (EP_FILE.into(), slice("probe-ep", a.port())),
    ]
}

fn slice(svc: &str, port: u16) -> String {
    format!(
        "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n\
         metadata: {{name: {svc}-1, namespace: probe, labels: {{kubernetes.io/service-name: {svc}}}}}\n\
         addressType: IPv4\nports:\n- {{name: http, port: {port}, protocol: TCP}}\n\
         endpoints:\n- {{addresses: [\"127.0.0.1\"], conditions: {{ready: true}}}}\n"
    )
}

fn proxy(name: &str, fqdn: &str, svc: &str, alt: Option<&str>) -> String {
    let mut y = format!(
        "---\napiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {{name: {name}, namespace: probe}}\n\
         spec:\n  virtualhost: {{fqdn: {fqdn}}}\n  routes:\n  - services: [{{name: {svc}, port: 80}}]\n"
    );
    if let Some(alt) = alt {
        y.push_str(&format!(
            "  - conditions: [{{prefix: /alt}}]\n    services: [{{name: {alt}, port: 80}}]\n"
        ));
    }
    y
}

/// The route probe: `/` goes to `main`, `/alt` to the other one, so a flip changes only routes
/// (both clusters stay referenced).
fn route_probe(main: &str, alt: &str) -> String {
    proxy("probe", ROUTE_HOST, main, Some(alt))
}

/// Polls Envoy until `host` is answered by `backend`.
pub async fn wait_backend(
    port: u16,
    host: &str,
    backend: &str,
    timeout: Duration,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    loop {
        let last = match http_get(port, host, "/").await {
            Ok(r) if r.backend() == Some(backend) => return Ok(start.elapsed()),
            Ok(r) => format!("status {} backend {:?}", r.status, r.backend()),
            Err(e) => format!("error {e}"),
        };
        if start.elapsed() > timeout {
            bail!("{host} did not reach backend {backend} within {timeout:?} (last: {last})");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// One measured change.
#[derive(Debug, Clone)]
pub struct Change {
    pub latency: Duration,
    pub builds: f64,
    /// xDS responses and bytes sent for this change, by type short name.
    pub responses: Vec<(String, u64, u64)>,
}

fn totals(xds: &Value) -> Vec<(String, u64, u64)> {
    xds["totals"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(t, v)| {
                    let short = t.rsplit('.').next().unwrap_or(t).to_string();
                    (
                        short,
                        v["responses"].as_u64().unwrap_or(0),
                        v["bytes"].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn diff(after: &[(String, u64, u64)], before: &[(String, u64, u64)]) -> Vec<(String, u64, u64)> {
    after
        .iter()
        .map(|(t, r, b)| {
            let (r0, b0) = before
                .iter()
                .find(|(t0, ..)| t0 == t)
                .map(|(_, r0, b0)| (*r0, *b0))
                .unwrap_or((0, 0));
            (t.clone(), r - r0, b - b0)
        })
        .filter(|(_, r, _)| *r > 0)
        .collect()
}

/// The route probe's manifest that sends `/` to `backend` ("a" or "b").
fn route_probe_to(backend: &str) -> String {
    if backend == "b" {
        route_probe("probe-b", "probe-a")
    } else {
        route_probe("probe-a", "probe-b")
    }
}

/// Flips the route probe between the two backends `n` times, starting from whichever serves.
pub async fn route_changes(
    env: &BenchEnv,
    n: usize,
    mut on_write: impl FnMut(Instant),
) -> anyhow::Result<Vec<Change>> {
    let content = |to: &str| (ROUTE_FILE, route_probe_to(to));
    measure(env, n, ROUTE_HOST, content, &mut on_write).await
}

/// One route flip with nothing else around it, for the fan-out: no `/debug/xds` scrape and no
/// metrics read while the push is under way (at 10k `/debug/xds` lists ~14,000 streams and takes
/// contour's CPU away from the push being measured). Returns when the write happened and the
/// backend the route now points to.
pub async fn flip_route(env: &BenchEnv) -> anyhow::Result<(Instant, &'static str)> {
    let want = if current_backend(env, ROUTE_HOST).await? == "a" {
        "b"
    } else {
        "a"
    };
    tokio::time::sleep(SPACING).await;
    let start = Instant::now();
    write_file(env.dir.path(), ROUTE_FILE, &route_probe_to(want))?;
    Ok((start, want))
}

/// Moves the endpoint probe's only endpoint between the two backends `n` times.
pub async fn endpoint_changes(env: &BenchEnv, n: usize) -> anyhow::Result<Vec<Change>> {
    let (pa, pb) = (env.echo_a.port(), env.echo_b.port());
    let content = |to: &str| {
        let port = if to == "b" { pb } else { pa };
        (EP_FILE, slice("probe-ep", port))
    };
    measure(env, n, EP_HOST, content, &mut |_| {}).await
}

/// The backend ("a" or "b") that answers `host` now, once Envoy answers at all.
pub async fn current_backend(env: &BenchEnv, host: &str) -> anyhow::Result<&'static str> {
    let start = Instant::now();
    loop {
        match http_get(env.ports.http, host, "/").await {
            Ok(r) if r.backend() == Some("a") => return Ok("a"),
            Ok(r) if r.backend() == Some("b") => return Ok("b"),
            _ if start.elapsed() > CONVERGE => bail!("{host} is not served within {CONVERGE:?}"),
            _ => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

async fn measure(
    env: &BenchEnv,
    n: usize,
    host: &str,
    content: impl Fn(&str) -> (&'static str, String),
    on_write: &mut dyn FnMut(Instant),
) -> anyhow::Result<Vec<Change>> {
    let mut out = Vec::with_capacity(n);
    // Each call flips from the current state: earlier probes may have left either backend.
    let mut current = current_backend(env, host).await?;
    for _ in 0..n {
        tokio::time::sleep(SPACING).await;
        let want = if current == "a" { "b" } else { "a" };
        current = want;
        let builds0 = env.metric("contour_dagrebuild_total").await?;
        let before = totals(&env.debug_xds().await?);
        let (file, yaml) = content(want);
        let start = Instant::now();
        write_file(env.dir.path(), file, &yaml)?;
        on_write(start);
        wait_backend(env.ports.http, host, want, CONVERGE).await?;
        let latency = start.elapsed();
        // Let the push settle (ACKs, late EDS) before reading the counters.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let after = totals(&env.debug_xds().await?);
        let builds = env.metric("contour_dagrebuild_total").await? - builds0;
        out.push(Change {
            latency,
            builds,
            responses: diff(&after, &before),
        });
    }
    Ok(out)
}

/// Rewrites the route probe with identical content and reports whether anything was pushed.
pub async fn identical_rewrite(env: &BenchEnv) -> anyhow::Result<(f64, u64)> {
    let yaml = route_probe_to(current_backend(env, ROUTE_HOST).await?);
    let builds0 = env.metric("contour_dagrebuild_total").await?;
    let before = totals(&env.debug_xds().await?);
    write_file(env.dir.path(), ROUTE_FILE, &yaml)?;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let after = totals(&env.debug_xds().await?);
    let builds = env.metric("contour_dagrebuild_total").await? - builds0;
    let pushes = diff(&after, &before).iter().map(|(_, r, _)| r).sum();
    Ok((builds, pushes))
}
