//! Full build + translate of a generated cluster at 1k and 10k HTTPProxies.

use contour_bench::generate::{Shape, cluster};
use contour_bench::{load, objects};
use criterion::{Criterion, criterion_group, criterion_main};

fn build_and_translate(c: &mut Criterion) {
    let mut group = c.benchmark_group("build_translate");
    group.sample_size(10);
    for n in [1_000usize, 10_000] {
        let objs = objects(&cluster(Shape {
            proxies: n,
            unrelated_secrets: 0,
        }))
        .expect("generate");
        let (cache, endpoints) = load(objs);
        let cfg = contour_dag::BuildConfig::default();
        let tcfg = contour_envoy::TranslateConfig::default();
        group.bench_function(format!("{n}_proxies"), |b| {
            b.iter(|| {
                let out = contour_dag::build(&cache, &cfg);
                let res = contour_envoy::translate(&out.dag, &tcfg);
                let eds: usize = out
                    .dag
                    .clusters()
                    .iter()
                    .map(|c| {
                        let la = endpoints.load_assignment(&c.service);
                        contour_envoy::to_any(&contour_envoy::cluster_load_assignment(&la))
                            .value
                            .len()
                    })
                    .sum();
                (res, eds)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, build_and_translate);
criterion_main!(benches);
