//! Build information (`contour version`, metric `contour_build_info`).

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const BRANCH: &str = "main";

/// Printed by `contour version`, one JSON object like upstream's build info.
pub fn build_info_json() -> String {
    serde_json::json!({"branch": BRANCH, "sha": option_env!("CONTOUR_GIT_SHA").unwrap_or("unknown"), "version": VERSION})
        .to_string()
}
