//! Over a sequence of edits to a generated cluster, the incremental translator (what `contour
//! serve` uses) gives byte-identical resources to a from-scratch translation of the same build.

use contour_bench::generate::{Shape, cluster};
use contour_bench::{apply_yaml, load, objects};
use contour_dag::{BuildConfig, build};
use contour_envoy::{TranslateConfig, Translator, translate};

type Edit = Box<dyn Fn(&str) -> String>;

#[test]
fn incremental_translation_equals_a_full_one_over_edits() {
    let files = cluster(Shape {
        proxies: 120,
        unrelated_secrets: 0,
    });
    let (mut cache, _) = load(objects(&files).unwrap());
    let original = files[0].1.clone();
    assert!(
        original.contains("host-3.bench.local"),
        "proxy 3 is in the first file"
    );
    let edits: Vec<(&str, Edit)> = vec![
        (
            "a route's backend",
            Box::new(|y| y.replacen("name: svc-1,", "name: svc-2,", 1)),
        ),
        (
            "a route's prefix",
            Box::new(|y| y.replacen("prefix: \"/r1\"", "prefix: \"/x1\"", 1)),
        ),
        (
            "TLS removed",
            Box::new(|y| y.replacen("    tls: {secretName: tls-0}\n", "", 1)),
        ),
        (
            "a host renamed",
            Box::new(|y| y.replace("host-3.bench.local", "host-3b.bench.local")),
        ),
        (
            "an include's condition",
            Box::new(|y| y.replacen("{prefix: /team}", "{prefix: /team2}", 1)),
        ),
        (
            "a missing certificate",
            Box::new(|y| y.replacen("secretName: tls-5}", "secretName: nope}", 1)),
        ),
        ("back to the start", Box::new(|y| y.to_string())),
    ];
    let (bcfg, tcfg) = (BuildConfig::default(), TranslateConfig::default());
    let mut translator = Translator::new();
    let first = build(&cache, &bcfg);
    assert_eq!(
        translator.translate(&first.dag, &tcfg),
        translate(&first.dag, &tcfg)
    );
    // A second translator that only says what changed, as `contour serve` uses it.
    let mut changes_only = Translator::new();
    let mut served = translate(&first.dag, &tcfg);
    changes_only.changes(&first.dag, &tcfg);
    let mut current = original.clone();
    for (what, edit) in &edits {
        let next = edit(&original);
        assert!(
            what.starts_with("back") || next != original,
            "{what}: the edit applies"
        );
        apply_yaml(&mut cache, &current, &next).unwrap();
        current = next;
        let out = build(&cache, &bcfg);
        let incremental = translator.translate(&out.dag, &tcfg);
        assert_eq!(incremental, translate(&out.dag, &tcfg), "{what}");
        changes_only.changes(&out.dag, &tcfg).apply_to(&mut served);
        assert_eq!(served, incremental, "{what}: changes");
    }
    assert_eq!(
        translator.translate(&first.dag, &tcfg),
        translate(&first.dag, &tcfg)
    );
}
