//! The workspace's `rust-version` is honest: at least the highest `rust-version` that
//! any locked dependency declares. A dependency update that raises it past the claim
//! fails here, so the claim is raised on purpose, not discovered by a user.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::process::Command;

/// "1.89" or "1.89.0" as (1, 89, 0); `None` for anything else.
fn version(text: &str) -> Option<(u64, u64, u64)> {
    let mut parts = text.split('.').map(|p| p.parse::<u64>().ok());
    let major = parts.next()??;
    let minor = parts.next()??;
    let patch = parts.next().unwrap_or(Some(0))?;
    parts.next().is_none().then_some((major, minor, patch))
}

#[test]
fn rust_version_covers_every_locked_dependency() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(root)
        .output()
        .expect("running cargo metadata");
    assert!(output.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let members: Vec<&str> =
        metadata["workspace_members"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();

    let mut claim = None;
    let mut needed = Vec::new();
    for package in metadata["packages"].as_array().unwrap() {
        let Some(declared) = package["rust_version"].as_str() else { continue };
        let declared = version(declared).unwrap_or_else(|| panic!("unreadable rust-version {declared}"));
        if members.contains(&package["id"].as_str().unwrap()) {
            if package["name"] == "carespace" {
                claim = Some(declared);
            }
        } else {
            needed.push((declared, format!("{} {}", package["name"], package["version"])));
        }
    }
    let claim = claim.expect("the carespace package declares a rust-version");
    needed.sort();
    let (highest, by) = needed.last().expect("dependencies declare rust-versions");
    assert!(
        *highest <= claim,
        "{by} needs Rust {highest:?}, newer than the workspace's rust-version {claim:?}: raise it in Cargo.toml"
    );
    // The claim is not padded either: some dependency needs exactly it (or it is the
    // edition's floor), so the number means something.
    assert!(needed.iter().any(|(v, _)| *v == claim), "no locked dependency needs {claim:?}; lower the claim");
}

#[test]
fn versions_are_read_as_numbers() {
    assert_eq!(version("1.95"), Some((1, 95, 0)));
    assert_eq!(version("1.89.0"), Some((1, 89, 0)));
    assert!(version("1.9x").is_none());
    assert!(version("1.88.0") < version("1.100"));
}
