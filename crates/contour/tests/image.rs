//! The contour image (Dockerfile) and the deployment manifests agree with the repository: no
//! Docker engine runs on the machines these tests run on, so the image itself is not built here;
//! what can drift without a build is checked instead.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `major.minor` of a version string such as `1.95` or `1.95.0`.
fn minor_version(v: &str) -> (u32, u32) {
    let mut parts = v.split('.').map(|p| p.parse::<u32>().expect(v));
    (parts.next().expect(v), parts.next().expect(v))
}

/// Every `image:` value in the numbered deployment manifests.
fn manifest_images() -> Vec<String> {
    let dir = repo().join("examples/contour");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("examples/contour") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !(name.starts_with('0') && name.ends_with(".yaml")) {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("manifest");
        out.extend(
            text.lines()
                .filter_map(|l| l.trim().strip_prefix("image:"))
                .map(|i| i.trim().to_string()),
        );
    }
    out
}

#[test]
fn the_dockerfile_builds_this_workspace_binary() {
    let dockerfile = read("Dockerfile");
    let builder = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("FROM docker.io/library/rust:"))
        .expect("a rust builder stage");
    let builder_version = builder.split('-').next().expect("tag");
    let manifest = read("Cargo.toml");
    let msrv = manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("rust-version = "))
        .expect("rust-version")
        .trim_matches('"');
    assert!(
        minor_version(builder_version) >= minor_version(msrv),
        "builder rust {builder_version} is older than rust-version {msrv}"
    );
    assert!(
        dockerfile.contains("cargo build --release --locked -p contour"),
        "the image builds the contour package from Cargo.lock"
    );
    assert!(dockerfile.contains("ENTRYPOINT [\"/bin/contour\"]"));
    let ignored = read(".dockerignore");
    for dir in ["target/", ".venv/", ".git/"] {
        assert!(
            ignored.lines().any(|l| l.trim() == dir),
            ".dockerignore must leave {dir} out of the build context"
        );
    }
}

#[test]
fn manifests_use_the_image_and_the_envoy_the_tests_prove() {
    let dockerfile = read("Dockerfile");
    let tag = dockerfile
        .lines()
        .find_map(|l| {
            l.trim_start_matches('#')
                .trim()
                .strip_prefix("docker build -t ")
        })
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the Dockerfile documents its tag");
    let setup = read("scripts/setup");
    let envoy_version = setup
        .lines()
        .find_map(|l| l.strip_prefix("ENVOY_VERSION=\"${ENVOY_VERSION:-"))
        .and_then(|rest| rest.strip_suffix("}\""))
        .expect("scripts/setup pins the Envoy version the tests run");
    let images = manifest_images();
    let contour: Vec<_> = images.iter().filter(|i| i.contains("contour")).collect();
    assert!(contour.len() >= 4, "{images:?}");
    assert!(contour.iter().all(|i| *i == tag), "{images:?} vs {tag}");
    let envoy: Vec<_> = images.iter().filter(|i| i.contains("envoyproxy")).collect();
    assert!(!envoy.is_empty(), "{images:?}");
    for image in envoy {
        assert!(
            image.ends_with(&format!("-v{envoy_version}"))
                || image.ends_with(&format!(":v{envoy_version}")),
            "{image}: the tests prove Envoy {envoy_version}"
        );
    }
}
