//! The fast reader must read a document as serde_norway does, or not at all.

use serde::Deserialize;
use serde_json::Value;

use super::super::direct;
use super::super::fast_yaml_de::NodeDe;
use super::*;

/// What serde_norway reads, when the fast reader takes the document; `None` when it steps aside.
/// Panics when the two disagree or when the fast reader takes what serde_norway refuses.
fn checked(text: &str) -> Option<Value> {
    let node = parse(text)?;
    let fast = Value::deserialize(NodeDe(node.clone()))
        .unwrap_or_else(|e| panic!("fast value failed ({e}) for {text:?}"));
    let slow: Value = serde_norway::from_str(text)
        .unwrap_or_else(|e| panic!("fast reader took what serde_norway refuses ({e}): {text:?}"));
    assert_eq!(fast, slow, "values differ for {text:?}");
    // Typed decoding of built-in kinds agrees too.
    assert_eq!(
        direct::parse_from(NodeDe(node)),
        direct::parse(text),
        "direct road differs for {text:?}"
    );
    Some(fast)
}

fn taken(text: &str) -> Value {
    checked(text).unwrap_or_else(|| panic!("fast reader stepped aside for {text:?}"))
}

fn refused(text: &str) {
    assert!(parse(text).is_none(), "fast reader took {text:?}");
}

#[test]
fn takes_the_shapes_manifests_have() {
    let docs = [
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: team\n  labels:\n    app: web\nspec:\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n    protocol: TCP\n  selector: {app: web}\n",
        "---\napiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {name: proxy-10, namespace: bench-0}\nspec:\n  virtualhost:\n    fqdn: host-10.bench.local\n    tls: {secretName: tls-10}\n  routes:\n  - conditions: [{prefix: \"/\"}]\n    services: [{name: svc-10, port: 80}]\n  includes:\n  - name: child\n    namespace: other\n",
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: svc-1-abc\n  namespace: bench-0\n  labels: {kubernetes.io/service-name: svc-1}\naddressType: IPv4\nports: [{name: http, port: 80, protocol: TCP}]\nendpoints:\n- addresses: [10.0.0.1]\n  conditions: {ready: true}\n- addresses: [\"10.0.0.2\"]\n  conditions:\n    ready: false\n",
        "# a comment\napiVersion: v1   # trailing comment\nkind: Secret\nmetadata:\n  name: tls\n  annotations:\n    note: 'it''s here'\n    other: \"quoted \\\"x\\\" \\\\ \\n\"\n    empty: ''\n    nothing:\n    tilde: ~\ntype: kubernetes.io/tls\ndata:\n  tls.crt: LS0tLS1CRUdJTiBDRVJU\n  tls.key: LS0tLS1CRUdJTiBQUklW\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  script: |\n    #!/bin/sh\n\n    echo \"a: b\" # not a comment\n      indented\n  stripped: |-\n    one\n    two\n\n  after: x\n",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  -\n    name: a\n    args: [--flag, -x, \"--y=1\"]\n  - name: b\n    ports:\n    - containerPort: 8080\n    env: []\n    resources: {}\n  numbers: [0, 1, -5, 0.0.0.0, 0.5x, 123456789012345678, true, False, NULL, yes, 'true', 10.0.0.1, 1Gi, 100m, 2024-01-01T00:00:00Z]\n",
        "k: |  \n  x\nl: |- # c\n  y\n",
        "key:\n- a\n- b\nother:\n  - - \n  - c\n",
        "a: {b: {c: [1, [2, 3], {d: e}]}, f: 'g, h', i: \"j: k\"}\nurl: http://example.com/a#b\nweird: a:b\n",
    ];
    for doc in docs {
        let _ = checked(doc);
    }
    for doc in &docs[..7] {
        taken(doc);
    }
    assert_eq!(
        taken("a: |\n\n  x\n\n  y\n\nb: 1\n"),
        serde_json::json!({"a": "\nx\n\ny\n", "b": 1})
    );
}

#[test]
fn steps_aside_for_what_it_does_not_read() {
    let docs = [
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "a: >\n  folded\n",
        "a: |2\n   x\n",
        "a: |+\n  x\n\nb: 1\n",
        "a: multi\n  line\n",
        "a: \"multi\n  line\"\n",
        "a: 1.5\n",
        "a: 0x1F\n",
        "a: 0o17\n",
        "a: +5\n",
        "a: -0\n",
        "a: 0123\n",
        "a: -0x1f\n",
        "a: 0b101\n",
        "a: .inf\n",
        "a: -.INF\n",
        "a: 1e3\n",
        "a: 1234567890123456789\n",
        "a:\tb\n",
        "a: b\r\n",
        "? a\n: b\n",
        "a: b: c\n",
        "a: b\na: c\n",
        "{a: b}\n",
        "- a\n",
        "plain\n",
        "%YAML 1.2\n---\na: b\n",
        "--- {a: b}\n",
        "a: b\n...\n",
        "a: \"\\u00e9\"\n",
        "a: [b, c\n",
        "a: [b, c,]\n",
        "a: {b}\n",
        "a: {\"b\":1}\n",
        "a:\n  b: 1\n   c: 2\n",
        "a:\n  b: 1\n c: 2\n",
        "a: 'x' y\n",
        "a: @x\n",
        "a: `x`\n",
        "a: - b\n",
        "a: \u{85}\n",
    ];
    for doc in docs {
        refused(doc);
    }
}

/// Deep nesting is left to serde_norway, which refuses it with its message: no stack is
/// exhausted on a hostile document, and what is taken still reads the same.
#[test]
fn deep_nesting_steps_aside() {
    refused(&format!(
        "a: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    ));
    let mut deep = String::new();
    for level in 0..2_000 {
        deep.push_str(&" ".repeat(level));
        deep.push_str("k:\n");
    }
    refused(&deep);
    let nested = |n: usize| format!("a: {}1{}\n", "[".repeat(n), "]".repeat(n));
    taken(&nested(20));
    refused(&nested(80));
}

/// Every document of the repository's examples and CRDs reads the same or steps aside; the
/// examples are of the shape the fast reader is for.
#[test]
fn repository_manifests_read_the_same() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for dir in ["examples/contour", "examples/quickstart", "deploy/crds"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("listed") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                files.push(path);
            }
        }
    }
    let (mut examples, mut examples_taken) = (0, 0);
    for path in files {
        let text = std::fs::read_to_string(&path).expect("read");
        let documents = text.split("\n---\n").filter(|d| {
            d.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        });
        for doc in documents {
            let taken = checked(doc).is_some();
            if path.to_string_lossy().contains("examples") {
                examples += 1;
                examples_taken += usize::from(taken);
            }
        }
    }
    assert!(examples > 10, "{examples} example documents");
    assert!(
        examples_taken * 10 >= examples * 8,
        "{examples_taken} of {examples} example documents taken"
    );
}

/// Never a different reading: documents built from fragments chosen at random, most of them
/// valid YAML, some not; whatever the fast reader takes must be read the same by serde_norway.
#[test]
fn random_documents_read_the_same_or_step_aside() {
    const SCALARS: &[&str] = &[
        "x",
        "80",
        "-3",
        "0",
        "-0",
        "007",
        "1.5",
        "1e3",
        "0x10",
        "+1",
        "true",
        "False",
        "null",
        "~",
        "yes",
        "on",
        ".inf",
        "nan",
        "inf",
        "10.0.0.1",
        "1Gi",
        "a b",
        "a:b",
        "a #c",
        "a#b",
        "'q'",
        "'it''s'",
        "\"d\"",
        "\"e\\\"f\"",
        "\"g\\x41\"",
        "[]",
        "{}",
        "[a, b]",
        "{k: v}",
        "[{k: v}, 1]",
        "{k: [1, 2]}",
        "'",
        "\"",
        "[a",
        "{k: v",
        "- z",
        ": z",
        "? z",
        "&a x",
        "*a",
        "!t x",
        "|",
        "|-",
        ">",
        "# c",
        "a # c",
        "\"x\" # c",
        "[a] # c",
        "[a]x",
        "é",
        "-x",
        "--",
        "x:",
        ",x",
        "x,y",
        "12345678901234567890",
        "2e",
        "0.",
        ".5",
        "-",
        "",
        "0.0.0.0",
        "0x",
        "0xZ",
        "00.5",
        "-0.0",
        "0b2",
        "1_0",
        "0e",
        "9.",
        ".",
        "+",
        "-.5",
        "0:0",
    ];
    const KEYS: &[&str] = &[
        "a", "b", "name", "80", "'q'", "\"d\"", "a b", "a.b/c", "-k", "?", "k#", "true", "null",
    ];
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let mut taken_count = 0;
    for round in 0..20_000 {
        let mut doc = String::new();
        if round % 2 == 0 {
            block(&mut doc, 0, 0, false, &mut next, SCALARS, KEYS);
            if checked(&doc).is_some() {
                taken_count += 1;
            }
            continue;
        }
        let mut indents = vec![0usize];
        for _ in 0..1 + next(8) {
            let depth = *indents.last().unwrap_or(&0);
            let indent = match next(6) {
                0 => depth + 2,
                1 => depth.saturating_sub(2),
                2 => depth + 1,
                _ => depth,
            };
            indents.push(indent);
            doc.push_str(&" ".repeat(indent));
            match next(8) {
                0 => doc.push_str("- "),
                1 => doc.push('-'),
                _ => {}
            }
            if next(6) != 0 {
                doc.push_str(KEYS[next(KEYS.len())]);
                doc.push_str(if next(10) == 0 { ":" } else { ": " });
            }
            doc.push_str(SCALARS[next(SCALARS.len())]);
            if next(10) == 0 {
                doc.push_str("\n\n   x\n  y");
            }
            doc.push('\n');
        }
        if checked(&doc).is_some() {
            taken_count += 1;
        }
    }
    // The generator must exercise the accepting side too.
    assert!(taken_count > 3_000, "only {taken_count} documents taken");
}

/// Scalars the fast reader takes.
const GOOD: &[&str] = &[
    "x",
    "80",
    "-3",
    "0",
    "true",
    "null",
    "~",
    "yes",
    "10.0.0.1",
    "1Gi",
    "a b",
    "a:b",
    "a #c",
    "0.0.0.0",
    "0.5x",
    "'it''s'",
    "\"e\\\"f\"",
    "[]",
    "{}",
    "[a, 'b']",
    "{k: v, l: [1, {m: n}]}",
    "# c",
    "",
    "|",
    "|-",
    "-x",
    "2024-01-01T00:00:00Z",
];

/// A block mapping (or, not at the top, a sequence) at `indent`, nested a few levels, with
/// scalars from `scalars`; `inline` when the first line's indentation is already written
/// (after `- `).
fn block(
    doc: &mut String,
    indent: usize,
    depth: usize,
    inline: bool,
    next: &mut impl FnMut(usize) -> usize,
    scalars: &[&str],
    keys: &[&str],
) {
    let seq = depth > 0 && next(3) == 0;
    for i in 0..1 + next(4) {
        if !(inline && i == 0) {
            doc.push_str(&" ".repeat(indent));
        }
        if seq {
            doc.push_str("- ");
            if depth < 4 && next(3) == 0 {
                block(doc, indent + 2, depth + 1, true, next, scalars, keys);
                continue;
            }
        } else {
            doc.push_str(keys[next(keys.len())]);
            doc.push(':');
            if depth < 4 && next(3) == 0 {
                doc.push('\n');
                let deeper = if next(4) == 0 {
                    indent
                } else {
                    indent + 1 + next(3)
                };
                block(doc, deeper, depth + 1, false, next, scalars, keys);
                continue;
            }
            doc.push(' ');
        }
        let value = if next(8) == 0 {
            scalars[next(scalars.len())]
        } else {
            GOOD[next(GOOD.len())]
        };
        doc.push_str(value);
        if value.starts_with('|') {
            doc.push('\n');
            for _ in 0..next(3) {
                doc.push_str(&" ".repeat(indent + 2 + next(2)));
                doc.push_str(scalars[next(scalars.len())]);
                doc.push('\n');
            }
        } else {
            doc.push('\n');
        }
    }
}
