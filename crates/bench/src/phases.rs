//! `contour-bench phases`: one in-process load, build and translation, phase by phase, with
//! the wall time, the CPU time of the thread (the machine is shared: CPU time is the figure
//! that does not depend on the other processes) and the process's memory after each phase.

use std::time::Instant;

use contour_bench::generate::{Shape, cluster};

use crate::report::ms;

/// Wall and thread CPU time since a start.
struct Clock {
    wall: Instant,
    cpu: f64,
}

/// A duration as `wall ms (cpu ms)`.
struct Took {
    wall: f64,
    cpu: f64,
}

impl Clock {
    fn start() -> Clock {
        Clock {
            wall: Instant::now(),
            cpu: cpu_ms(),
        }
    }

    fn took(&self) -> Took {
        Took {
            wall: ms(self.wall.elapsed()),
            cpu: cpu_ms() - self.cpu,
        }
    }
}

impl std::fmt::Display for Took {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:>7.1} ms (cpu {:>7.1} ms)", self.wall, self.cpu)
    }
}

/// CPU time of the calling thread in milliseconds (`/proc/thread-self/schedstat`, ns).
fn cpu_ms() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |ns| ns / 1e6)
}

/// This process's resident and peak resident memory, in MB.
fn rss() -> String {
    let mb = |field| {
        contour_testkit::proc_status_bytes(std::process::id(), field)
            .map_or(f64::NAN, |b| b as f64 / (1024.0 * 1024.0))
    };
    format!("rss {:>7.1} MB, peak {:>7.1} MB", mb("VmRSS"), mb("VmHWM"))
}

/// Times one in-process load + build + translate, phase by phase, with the process's memory
/// after each phase.
pub fn phases(proxies: usize, secrets: usize, route_changes: usize) -> anyhow::Result<()> {
    println!("start                           {}", rss());
    let t = Clock::start();
    let files = cluster(Shape {
        proxies,
        unrelated_secrets: secrets,
    });
    let yaml: usize = files.iter().map(|(_, y)| y.len()).sum();
    println!(
        "generate       {}  {}  ({:.1} MB of YAML)",
        t.took(),
        rss(),
        yaml as f64 / 1048576.0
    );
    let t = Clock::start();
    let objs = contour_bench::objects(&files)?;
    let n = objs.len();
    println!("parse+admit    {}  {}  ({n} objects)", t.took(), rss());
    let t = Clock::start();
    let (cache, endpoints) = contour_bench::load(objs);
    println!("cache insert   {}  {}", t.took(), rss());
    for round in 0..3 {
        let t = Clock::start();
        let out = contour_dag::build(&cache, &contour_dag::BuildConfig::default());
        let build = t.took();
        let after_build = rss();
        let t = Clock::start();
        let res = contour_envoy::translate(&out.dag, &contour_envoy::TranslateConfig::default());
        let translate = t.took();
        let after_translate = rss();
        let t = Clock::start();
        let mut eds = 0usize;
        for c in out.dag.clusters() {
            let la = endpoints.load_assignment(&c.service);
            eds += contour_envoy::to_any(&contour_envoy::cluster_load_assignment(&la))
                .value
                .len();
        }
        let eds_ms = t.took();
        let bytes: usize = res
            .routes
            .values()
            .chain(res.clusters.values())
            .chain(res.listeners.values())
            .map(|a| a.value.len())
            .sum();
        println!(
            "round {round}: build {build}, translate {translate}, eds {eds_ms}; {} bytes (+{eds} EDS)",
            bytes
        );
        println!("  after build: {after_build}; after translate: {after_translate}");
    }
    incremental_phases(&files, cache, route_changes)
}

/// Times what `contour serve` does for one route change: the incremental build, then the
/// incremental translation (after a first, full one of each), beside the from-scratch build.
fn incremental_phases(
    files: &[(String, String)],
    mut cache: contour_dag::Cache,
    route_changes: usize,
) -> anyhow::Result<()> {
    let (bcfg, tcfg) = (
        contour_dag::BuildConfig::default(),
        contour_envoy::TranslateConfig::default(),
    );
    let mut builder = contour_dag::IncrementalBuild::new();
    let mut translator = contour_envoy::Translator::new();
    let t = Clock::start();
    let out = builder.build(&cache, &bcfg);
    let build = t.took();
    let t = Clock::start();
    translator.translate(&out.dag, &tcfg);
    println!(
        "incremental build and translator, first (full): build {build}, translate {}",
        t.took()
    );
    let original = &files[0].1;
    let edited = original.replacen("name: svc-1,", "name: svc-2,", 1);
    let mut current = original.clone();
    for round in 0..route_changes {
        let next = if round % 2 == 0 { &edited } else { original };
        contour_bench::apply_yaml(&mut cache, &current, next)?;
        current = next.clone();
        let full_build = (round < 4).then(|| {
            let t = Clock::start();
            let full = contour_dag::build(&cache, &bcfg);
            let took = t.took();
            drop(full);
            took
        });
        let t = Clock::start();
        let out = builder.build(&cache, &bcfg);
        let build = t.took();
        let reuse = builder.last_reuse();
        let (handed, converted) = status_handover(&out.status);
        println!(
            "  statuses for the Kubernetes status writer: handed over as built {handed}; \
             every one in upstream's shape (before 2026-11-23) {converted}"
        );
        let t = Clock::start();
        let changes = translator.changes(&out.dag, &tcfg);
        let translate = t.took();
        let changed: Vec<&str> = [
            ("listeners", changes.listeners.is_some()),
            ("routes", changes.routes.is_some()),
            ("clusters", changes.clusters.is_some()),
            ("secrets", changes.secrets.is_some()),
        ]
        .into_iter()
        .filter_map(|(n, c)| c.then_some(n))
        .collect();
        let full_build = full_build.map_or(String::new(), |t| format!("full build {t}; "));
        println!(
            "one route changed: {full_build}incremental build {build} \
             ({} roots computed, {} reused), incremental translate {translate} (changed: {})",
            reuse.computed,
            reuse.reused,
            changed.join(", ")
        );
    }
    Ok(())
}

/// What the event loop hands the status writer each build at this scale (the build's statuses,
/// copied), beside what it did before: converting every status to upstream's shape.
fn status_handover(status: &contour_dag::StatusSet) -> (Took, Took) {
    let t = Clock::start();
    let handed = status.proxies.clone();
    let handed_took = t.took();
    drop(handed);
    let t = Clock::start();
    let converted: std::collections::BTreeMap<_, _> = status
        .proxies
        .iter()
        .map(|(k, st)| (k.clone(), st.to_api()))
        .collect();
    let converted_took = t.took();
    drop(converted);
    (handed_took, converted_took)
}
