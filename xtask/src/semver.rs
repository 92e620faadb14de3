//! `cargo xtask semver`: `cargo semver-checks` for every publishable crate changed since its
//! last release, so that a change breaking a library's public API without the version bump
//! semver asks for fails with the item named.
//!
//! A crate's baseline is, in order: `--baseline-rev`, the tag `<crate>-v<version>` that
//! `cargo xtask release` makes, or the last commit that set the `version` line of its
//! `Cargo.toml` (what a release commit does; tags do not always travel with a clone). A crate
//! whose directory is unchanged since its baseline is skipped, which keeps CI short; the
//! pinned cargo-semver-checks is installed only when some crate needs checking.

use crate::release::{Member, members, tag};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

/// The cargo-semver-checks release CI installs (`.ci/run`).
pub const SEMVER_CHECKS_VERSION: &str = "0.51.0";

/// `cargo xtask semver` arguments.
#[derive(clap::Args, Debug)]
pub struct SemverArgs {
    /// Compare every crate against this revision instead of its last release.
    #[arg(long)]
    pub baseline_rev: Option<String>,
    /// Check only these crates (default: every publishable crate).
    #[arg(long = "crate", value_name = "CRATE")]
    pub crates: Vec<String>,
}

/// Runs the checks; fails naming the crates whose API broke.
pub fn run(root: &Path, args: &SemverArgs) -> Result<()> {
    let members = members(root)?;
    let chosen: Vec<&Member> = members
        .iter()
        .filter(|m| m.publishable)
        .filter(|m| args.crates.is_empty() || args.crates.contains(&m.name))
        .collect();
    if let Some(unknown) = args
        .crates
        .iter()
        .find(|c| !chosen.iter().any(|m| &m.name == *c))
    {
        bail!("`{unknown}` is not a publishable workspace crate");
    }
    let mut broken = Vec::new();
    let mut installed = false;
    for member in chosen {
        let dir = member
            .manifest
            .parent()
            .context("a manifest has a directory")?;
        let baseline = match &args.baseline_rev {
            Some(rev) => rev.clone(),
            None => match baseline(root, member)? {
                Some(rev) => rev,
                None => {
                    // A shallow clone has neither the tag nor the release commit: say so
                    // loudly, since nothing can be compared, rather than fail the run.
                    println!(
                        "semver: {} {}: NOT CHECKED: no tag {} and no commit setting its version in this clone (shallow?); fetch the history or pass --baseline-rev",
                        member.name,
                        member.version,
                        tag(&member.name, &member.version)
                    );
                    continue;
                }
            },
        };
        if unchanged_since(root, dir, &baseline)? {
            println!(
                "semver: {} {} unchanged since {baseline}: skipped",
                member.name, member.version
            );
            continue;
        }
        println!(
            "semver: {} {} against {baseline}",
            member.name, member.version
        );
        if !installed {
            ensure_installed()?;
            installed = true;
        }
        let status = Command::new(crate::cargo())
            .current_dir(root)
            .args(["semver-checks", "check-release", "--package"])
            .arg(&member.name)
            .args(["--baseline-rev", &baseline])
            .status()
            .context("could not start cargo semver-checks")?;
        if !status.success() {
            broken.push(member.name.clone());
        }
    }
    if broken.is_empty() {
        Ok(())
    } else {
        bail!(
            "the public API of {} changed incompatibly since the last release: bump the version as cargo-semver-checks says above (`cargo xtask release <crate> <version>`) or keep the item",
            broken.join(", ")
        )
    }
}

/// Installs the pinned cargo-semver-checks when it is missing (only when a crate changed, so
/// a run with nothing to check costs nothing).
fn ensure_installed() -> Result<()> {
    let version = Command::new(crate::cargo())
        .args(["semver-checks", "--version"])
        .output();
    let wanted = format!("cargo-semver-checks {SEMVER_CHECKS_VERSION}");
    if let Ok(out) = version
        && out.status.success()
        && String::from_utf8_lossy(&out.stdout).trim() == wanted
    {
        return Ok(());
    }
    crate::run(Command::new(crate::cargo()).args([
        "install",
        "--locked",
        "cargo-semver-checks",
        "--version",
        SEMVER_CHECKS_VERSION,
    ]))
    .context("installing cargo-semver-checks failed")
}

/// The revision a crate's current API is compared against (see the module doc).
fn baseline(root: &Path, member: &Member) -> Result<Option<String>> {
    let tag = tag(&member.name, &member.version);
    let tagged = Command::new("git")
        .current_dir(root)
        .args(["rev-parse", "--verify", "--quiet"])
        .arg(format!("refs/tags/{tag}"))
        .output()
        .context("could not run git rev-parse")?;
    if tagged.status.success() {
        return Ok(Some(tag));
    }
    let out = Command::new("git")
        .current_dir(root)
        .args(["log", "-1", "--format=%H", "-G", "^version = ", "--"])
        .arg(&member.manifest)
        .output()
        .context("could not run git log")?;
    let commit = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() {
        bail!(
            "git log of {} failed: {}",
            member.manifest.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok((!commit.is_empty()).then_some(commit))
}

/// Whether nothing under `dir` (work tree included) differs from `rev`.
fn unchanged_since(root: &Path, dir: &Path, rev: &str) -> Result<bool> {
    let status = Command::new("git")
        .current_dir(root)
        .args(["diff", "--quiet", rev, "--"])
        .arg(dir)
        .status()
        .context("could not run git diff")?;
    match status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => bail!("git diff {rev} -- {} failed", dir.display()),
    }
}
