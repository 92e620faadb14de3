//! The workspace model of `cargo xtask` and of its repository-rule tests: one reader of
//! `cargo metadata --no-deps`, so `release`, `semver` and `tests/tidy.rs` see the members
//! the same way, and the flavors ([`flavors`]: the `bins/` packages with a
//! `[package.metadata.case-reader]` table) every command that covers "each flavor" iterates.
//!
//! ```no_run
//! let root = std::path::Path::new(".");
//! for member in xtask::members(root)? {
//!     println!("{} {} publishable={}", member.name, member.version, member.publishable);
//! }
//! for flavor in xtask::flavors(root)? {
//!     println!("{} from package {} (bin {})", flavor.name, flavor.package, flavor.bin);
//! }
//! # Ok::<(), anyhow::Error>(())
//! ```

#![forbid(unsafe_code)]

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

mod flavors;
pub use flavors::{Flavor, REAL_BROKER_FEATURE, flavors, flavors_in, tier_features};

/// The `cargo` that runs xtask (`$CARGO`), else `cargo` from `PATH`.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Runs `cmd` to completion and returns what it printed on stdout; a command that cannot
/// start or exits unsuccessfully is an error quoting its stderr.
pub fn stdout_of(cmd: &mut Command) -> Result<Vec<u8>> {
    let output = cmd
        .output()
        .with_context(|| format!("could not run {:?}", cmd.get_program()))?;
    if !output.status.success() {
        bail!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(output.stdout)
}

/// A workspace member as `cargo metadata` describes it.
#[derive(Debug, Clone)]
pub struct Member {
    /// Package name.
    pub name: String,
    /// Its version.
    pub version: semver::Version,
    /// Its `Cargo.toml`.
    pub manifest: PathBuf,
    /// `false` when `publish = false`.
    pub publishable: bool,
    /// (dependency name, kind: "normal" | "dev" | "build")
    pub deps: Vec<(String, String)>,
    /// Source paths of the member's `custom-build` targets (build.rs).
    pub build_scripts: Vec<PathBuf>,
    /// Names of its `bin` targets.
    pub bins: Vec<String>,
}

/// `cargo metadata --no-deps --offline` of the workspace at `root`, parsed.
fn metadata(root: &Path) -> Result<Value> {
    let stdout = stdout_of(Command::new(cargo()).current_dir(root).args([
        "metadata",
        "--format-version",
        "1",
        "--no-deps",
        "--offline",
    ]))
    .with_context(|| format!("cargo metadata in {}", root.display()))?;
    serde_json::from_slice(&stdout).context("cargo metadata output")
}

/// The `packages` of a `cargo metadata` document.
fn packages(meta: &Value) -> Result<&Vec<Value>> {
    meta.get("packages")
        .and_then(Value::as_array)
        .context("cargo metadata printed no packages")
}

/// Every workspace member below `root`, from `cargo metadata --no-deps --offline`.
pub fn members(root: &Path) -> Result<Vec<Member>> {
    packages(&metadata(root)?)?.iter().map(member).collect()
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_owned()
}

/// The items of the array at `key` (none when it is absent).
fn array<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn member(p: &Value) -> Result<Member> {
    let publishable = match p.get("publish") {
        Some(Value::Array(registries)) => !registries.is_empty(),
        _ => true,
    };
    let targets: Vec<&Value> = array(p, "targets").collect();
    let targets_of_kind = |kind: &str| -> Vec<&Value> {
        targets
            .iter()
            .copied()
            .filter(|t| array(t, "kind").any(|k| k.as_str() == Some(kind)))
            .collect()
    };
    Ok(Member {
        name: text(p, "name"),
        version: semver::Version::parse(&text(p, "version"))
            .with_context(|| format!("version of {}", text(p, "name")))?,
        manifest: PathBuf::from(text(p, "manifest_path")),
        publishable,
        deps: array(p, "dependencies")
            .map(|d| {
                let kind = d.get("kind").and_then(Value::as_str).unwrap_or("normal");
                (text(d, "name"), kind.to_owned())
            })
            .collect(),
        build_scripts: targets_of_kind("custom-build")
            .into_iter()
            .map(|t| PathBuf::from(text(t, "src_path")))
            .collect(),
        bins: targets_of_kind("bin")
            .into_iter()
            .map(|t| text(t, "name"))
            .collect(),
    })
}
