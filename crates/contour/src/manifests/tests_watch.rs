//! Behaviour of the running source: initial load, edits, deletes, renames, bad input.

use std::fs;

use contour_dag::Kind;

use super::super::SourceEvent;
use super::{Fixture, Logs, key, port_of, service_yaml, svc, write};

const LIST: &str = "\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: l1, namespace: team}
- apiVersion: v1
  kind: Service
  metadata: {name: l2, namespace: team}
";

const SECRET_JSON: &str =
    r#"{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "team"}}"#;

#[tokio::test]
async fn initial_load_reads_nested_dirs_multi_documents_and_lists() {
    let multi = format!(
        "{}---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: team}}\n",
        service_yaml("a", 80)
    );
    let fixture = Fixture::start(&[
        ("a.yaml", &multi),
        ("sub/deeper/list.yml", LIST),
        ("sub/secret.json", SECRET_JSON),
        (".hidden.yaml", &service_yaml("hidden", 80)),
        ("sub/.git/x.yaml", &service_yaml("git", 80)),
        ("notes.txt", &service_yaml("txt", 80)),
    ])
    .await;
    let keys: Vec<_> = fixture.state.keys().cloned().collect();
    assert_eq!(
        keys,
        vec![
            key(Kind::Namespace, "", "team"),
            svc("a"),
            key(Kind::Service, "team", "l1"),
            key(Kind::Service, "team", "l2"),
            key(Kind::Secret, "team", "s"),
        ]
    );
}

#[tokio::test]
async fn malformed_yaml_next_to_good_files_is_logged_and_skipped() {
    let logs = Logs::default();
    let _guard = logs.install();
    let bad = format!("{}---\nkind: [\n", service_yaml("before", 80));
    let fixture =
        Fixture::start(&[("good.yaml", &service_yaml("good", 80)), ("bad.yaml", &bad)]).await;
    assert_eq!(
        fixture.state.keys().cloned().collect::<Vec<_>>(),
        vec![svc("before"), svc("good")]
    );
    let text = logs.text();
    let line = text
        .lines()
        .find(|l| l.contains("skipping invalid manifest"))
        .expect(&text);
    let file = fixture.path("bad.yaml");
    assert!(line.contains(&format!("file={}", file.display())), "{line}");
    assert!(line.contains("document=2"), "{line}");
    assert!(
        line.contains("line=9") || line.contains("line=10"),
        "{line}"
    );
}

#[tokio::test]
async fn edit_sends_upsert_and_removed_document_sends_delete() {
    let two = format!("{}---\n{}", service_yaml("a", 80), service_yaml("b", 80));
    let mut fixture = Fixture::start(&[("x.yaml", &two)]).await;
    let two = format!("{}---\n{}", service_yaml("a", 81), service_yaml("b", 80));
    write(&fixture.path("x.yaml"), &two);
    let event = fixture.change().await;
    let SourceEvent::Upsert(object) = event else {
        panic!("{event:?}")
    };
    assert_eq!((object.key(), port_of(&object)), (svc("a"), Some(81)));
    assert_eq!(fixture.settle().await, vec![]);

    write(&fixture.path("x.yaml"), &service_yaml("a", 81));
    assert_eq!(fixture.change().await, SourceEvent::Delete(svc("b")));
    assert_eq!(fixture.settle().await, vec![]);
}

#[tokio::test]
async fn deleting_a_file_deletes_its_objects() {
    let mut fixture = Fixture::start(&[
        ("x.yaml", &service_yaml("a", 80)),
        ("y.yaml", &service_yaml("b", 80)),
    ])
    .await;
    fs::remove_file(fixture.path("x.yaml")).unwrap();
    assert_eq!(fixture.change().await, SourceEvent::Delete(svc("a")));
    fixture.settle().await;
    assert_eq!(
        fixture.state.keys().cloned().collect::<Vec<_>>(),
        vec![svc("b")]
    );
}

#[tokio::test]
async fn renames_within_into_and_out_of_the_directory() {
    let mut fixture = Fixture::start(&[("x.yaml", &service_yaml("a", 80))]).await;
    let before = fixture.state.clone();
    fs::rename(fixture.path("x.yaml"), fixture.path("renamed.yaml")).unwrap();
    fixture.settle().await;
    assert_eq!(
        fixture.state, before,
        "no net loss after a rename within the directory"
    );

    let outside = tempfile::tempdir_in(fixture.dir.path().parent().unwrap()).unwrap();
    let incoming = outside.path().join("in.yaml");
    write(&incoming, &service_yaml("b", 80));
    fs::rename(&incoming, fixture.path("in.yaml")).unwrap();
    let event = fixture.change().await;
    assert!(
        matches!(&event, SourceEvent::Upsert(o) if o.key() == svc("b")),
        "{event:?}"
    );

    fs::rename(
        fixture.path("renamed.yaml"),
        outside.path().join("gone.yaml"),
    )
    .unwrap();
    assert_eq!(fixture.change().await, SourceEvent::Delete(svc("a")));

    fs::rename(fixture.path("in.yaml"), fixture.path("in.yaml.bak")).unwrap();
    assert_eq!(fixture.change().await, SourceEvent::Delete(svc("b")));
    assert_eq!(fixture.settle().await, vec![]);
}

#[tokio::test]
async fn directories_removed_renamed_and_moved_in() {
    let mut fixture = Fixture::start(&[
        ("d/one.yaml", &service_yaml("one", 80)),
        ("d/e/two.yaml", &service_yaml("two", 80)),
        ("keep.yaml", &service_yaml("keep", 80)),
    ])
    .await;
    let before = fixture.state.clone();
    fs::rename(fixture.path("d"), fixture.path("moved")).unwrap();
    fixture.settle().await;
    assert_eq!(fixture.state, before, "renaming a directory loses nothing");

    // A file created in a directory that appeared after the start is followed too.
    write(
        &fixture.path("moved/e/three.yaml"),
        &service_yaml("three", 80),
    );
    let event = fixture.change().await;
    assert!(
        matches!(&event, SourceEvent::Upsert(o) if o.key() == svc("three")),
        "{event:?}"
    );

    fs::remove_dir_all(fixture.path("moved")).unwrap();
    fixture.settle().await;
    assert_eq!(
        fixture.state.keys().cloned().collect::<Vec<_>>(),
        vec![svc("keep")]
    );

    let outside = tempfile::tempdir_in(fixture.dir.path().parent().unwrap()).unwrap();
    write(&outside.path().join("pkg/a.yaml"), &service_yaml("pa", 80));
    write(
        &outside.path().join("pkg/sub/b.yaml"),
        &service_yaml("pb", 80),
    );
    fs::rename(outside.path().join("pkg"), fixture.path("pkg")).unwrap();
    fixture.settle().await;
    let keys: Vec<_> = fixture.state.keys().cloned().collect();
    assert_eq!(keys, vec![svc("keep"), svc("pa"), svc("pb")]);
}

#[tokio::test]
async fn only_the_changed_file_is_read_again() {
    let mut fixture = Fixture::start(&[
        ("a.yaml", &service_yaml("a", 80)),
        ("b.yaml", &service_yaml("b", 80)),
        ("sub/c.yaml", &service_yaml("c", 80)),
    ])
    .await;
    let reads = |f: &Fixture, p: &str| f.handle.reads(&f.path(p));
    assert_eq!(
        [
            reads(&fixture, "a.yaml"),
            reads(&fixture, "b.yaml"),
            reads(&fixture, "sub/c.yaml")
        ],
        [1, 1, 1]
    );
    write(&fixture.path("b.yaml"), &service_yaml("b", 81));
    fixture.change().await;
    fixture.settle().await;
    assert_eq!(
        [
            reads(&fixture, "a.yaml"),
            reads(&fixture, "b.yaml"),
            reads(&fixture, "sub/c.yaml")
        ],
        [1, 2, 1]
    );
}

#[tokio::test]
async fn bad_edit_keeps_the_last_good_version() {
    let logs = Logs::default();
    let _guard = logs.install();
    let two = format!("{}---\n{}", service_yaml("a", 80), service_yaml("b", 80));
    let mut fixture = Fixture::start(&[("x.yaml", &two)]).await;
    let before = fixture.state.clone();
    // A syntax error in the second document: b can no longer be read, a is unchanged.
    write(
        &fixture.path("x.yaml"),
        &format!("{}---\napiVersion: v1\nkind: [\n", service_yaml("a", 80)),
    );
    assert_eq!(fixture.settle().await, vec![]);
    assert_eq!(fixture.state, before);
    assert!(
        logs.text().contains("keeping the last good version"),
        "{}",
        logs.text()
    );

    // A rejected update of a (ports is not a list) keeps a as it was; b is fixed.
    let bad_a = "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: 81}\n";
    write(
        &fixture.path("x.yaml"),
        &format!("{bad_a}---\n{}", service_yaml("b", 82)),
    );
    let event = fixture.change().await;
    assert!(
        matches!(&event, SourceEvent::Upsert(o) if port_of(o) == Some(82)),
        "{event:?}"
    );
    assert_eq!(fixture.settle().await, vec![]);
    assert_eq!(port_of(&fixture.state[&svc("a")]), Some(80));
}

#[tokio::test]
async fn duplicate_definition_falls_back_when_one_file_goes() {
    let mut fixture = Fixture::start(&[
        ("1.yaml", &service_yaml("a", 80)),
        ("2.yaml", &service_yaml("a", 90)),
    ])
    .await;
    // Files are read in path order: the later one wins.
    assert_eq!(port_of(&fixture.state[&svc("a")]), Some(90));
    fs::remove_file(fixture.path("2.yaml")).unwrap();
    let event = fixture.change().await;
    assert!(
        matches!(&event, SourceEvent::Upsert(o) if port_of(o) == Some(80)),
        "{event:?}"
    );
}

/// Kubernetes writes ConfigMap volumes through hidden directories: `a.yaml -> ..data/a.yaml`,
/// `..data -> ..<timestamp>`, and an update swaps `..data` atomically.
#[cfg(unix)]
#[tokio::test]
async fn configmap_volume_update_through_data_link() {
    use std::os::unix::fs::symlink;
    let mut fixture = Fixture::start(&[]).await;
    let root = fixture.root.clone();
    write(&root.join("..2024_01/a.yaml"), &service_yaml("a", 80));
    symlink("..2024_01", root.join("..data")).unwrap();
    symlink("..data/a.yaml", root.join("a.yaml")).unwrap();
    let event = fixture.change().await;
    assert!(
        matches!(&event, SourceEvent::Upsert(o) if port_of(o) == Some(80)),
        "{event:?}"
    );

    write(&root.join("..2024_02/a.yaml"), &service_yaml("a", 81));
    symlink("..2024_02", root.join("..data_tmp")).unwrap();
    fs::rename(root.join("..data_tmp"), root.join("..data")).unwrap();
    fs::remove_dir_all(root.join("..2024_01")).unwrap();
    let event = fixture.change().await;
    assert!(
        matches!(&event, SourceEvent::Upsert(o) if port_of(o) == Some(81)),
        "{event:?}"
    );
    assert_eq!(fixture.settle().await, vec![]);
    assert_eq!(fixture.handle.reads(&root.join("a.yaml")), 2);
}

#[tokio::test]
async fn removing_the_directory_deletes_everything() {
    let mut fixture = Fixture::start(&[
        ("a.yaml", &service_yaml("a", 80)),
        ("d/b.yaml", &service_yaml("b", 80)),
    ])
    .await;
    fs::remove_dir_all(&fixture.root).unwrap();
    while !fixture.state.is_empty() {
        let event = fixture.change().await;
        assert!(matches!(event, SourceEvent::Delete(_)), "{event:?}");
    }
}

/// Writes `content` as editors and `kubectl`-style tools do: a hidden temporary file renamed
/// over the target.
fn write_atomically(path: &std::path::Path, content: &str) {
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name().unwrap().to_string_lossy()
    ));
    fs::write(&tmp, content).unwrap();
    fs::rename(&tmp, path).unwrap();
}

#[tokio::test]
async fn one_change_reads_one_file_and_walks_no_directory() {
    let files: Vec<(String, String)> = (0..60)
        .map(|i| {
            (
                format!("d{}/f{i}.yaml", i % 6),
                service_yaml(&format!("s{i}"), 80),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, y)| (p.as_str(), y.as_str()))
        .collect();
    let mut fixture = Fixture::start(&refs).await;
    let examined = fixture.handle.examined();
    assert_eq!(examined, 60, "the initial load looks at every file once");
    for port in 81..84u16 {
        write_atomically(&fixture.path("d3/f9.yaml"), &service_yaml("s9", port));
        let event = fixture.change().await;
        assert!(
            matches!(&event, SourceEvent::Upsert(o) if port_of(o) == Some(i32::from(port))),
            "{event:?}"
        );
    }
    fixture.settle().await;
    assert_eq!(fixture.handle.reads(&fixture.path("d3/f9.yaml")), 4);
    for (path, _) in files.iter().filter(|(p, _)| p != "d3/f9.yaml") {
        assert_eq!(fixture.handle.reads(&fixture.path(path)), 1, "{path}");
    }
    assert_eq!(
        fixture.handle.examined(),
        examined,
        "no directory was walked again"
    );
}
