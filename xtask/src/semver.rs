//! `cargo xtask semver`: `cargo semver-checks` for every publishable crate changed since its
//! last release, so that a change breaking a library's public API without the version bump
//! semver asks for fails with the item named.
//!
//! A crate's baseline is, in order: `--baseline-rev`, the tag `<crate>-v<version>` that
//! `cargo xtask release` makes, or the last commit that set the `version` line of its
//! `Cargo.toml` (what a release commit does; tags do not always travel with a clone). A crate
//! whose directory is unchanged since its baseline is skipped, which keeps CI short; the
//! pinned cargo-semver-checks is installed only when some crate needs checking.

use crate::release::tag;
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;
use xtask::{Member, members};

/// The cargo-semver-checks release CI installs (`.ci/run`).
pub const SEMVER_CHECKS_VERSION: &str = "0.51.0";

/// Features that change how a crate is built but not its API: `fips` swaps the crypto
/// module and needs cmake and Go, which the checks must not require. Every other feature is
/// checked (cargo-semver-checks would otherwise enable all of them).
pub const API_NEUTRAL_FEATURES: &[&str] = &["fips"];

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
        if args.baseline_rev.is_none() && created_in(root, &member.manifest, &baseline)? {
            // The commit that set the version is the one that added the crate: no release
            // of it exists, so there is no public API to keep.
            println!(
                "semver: {} {} never released (its version comes from the commit adding it, {baseline}): nothing to compare",
                member.name, member.version
            );
            continue;
        }
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
        let status = check(root, member, &baseline)?;
        if !status.success() {
            broken.push(member.name.clone());
        }
    }
    if broken.is_empty() {
        Ok(())
    } else {
        bail!(
            "cargo semver-checks failed for {}: either the public API changed incompatibly since the last release (bump the version as it says above: `cargo xtask release <crate> <version>`, or keep the item) or a version could not be built (the error above names what is missing)",
            broken.join(", ")
        )
    }
}

/// Compares `member`'s API now with its API at `baseline`.
///
/// Both rustdoc JSON files are built here, the baseline from a detached worktree, with the
/// features each side's manifest declares, in one target directory `<target>/semver/target` shared by every crate and both sides, so the
/// dependencies are compiled once (cargo-semver-checks on its own builds each crate twice in
/// fresh target directories: minutes per crate). It is not the main target directory:
/// `RUSTC_BOOTSTRAP` is part of some build scripts' fingerprints (proc-macro2, anyhow), so
/// sharing would rebuild the workspace after every check.
fn check(root: &Path, member: &Member, baseline: &str) -> Result<std::process::ExitStatus> {
    let work = crate::stack::target_dir(root, std::env::var_os("CARGO_TARGET_DIR")).join("semver");
    let target = work.join("target");
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let relative = member
        .manifest
        .strip_prefix(root)
        .with_context(|| format!("{} is outside the workspace", member.manifest.display()))?;
    let current = rustdoc_json(
        root,
        &member.manifest,
        &member.name,
        &manifest_features(&member.manifest)?,
        &target,
        &work,
        "current",
    )?;
    let tree = work.join(format!("tree-{}", member.name));
    if tree.exists() {
        remove_worktree(root, &tree)?;
    }
    crate::run(
        Command::new("git")
            .current_dir(root)
            .args(["worktree", "add", "--detach", "--quiet"])
            .arg(&tree)
            .arg(baseline),
    )
    .with_context(|| format!("checking out {baseline} into {}", tree.display()))?;
    let old_manifest = tree.join(relative);
    let old = manifest_features(&old_manifest).and_then(|features| {
        rustdoc_json(
            &tree,
            &old_manifest,
            &member.name,
            &features,
            &target,
            &work,
            "baseline",
        )
    });
    remove_worktree(root, &tree)?;
    let old = old?;
    Command::new(crate::cargo())
        .current_dir(root)
        .args(["semver-checks", "check-release", "--baseline-rustdoc"])
        .arg(&old)
        .arg("--current-rustdoc")
        .arg(&current)
        .status()
        .context("could not start cargo semver-checks")
}

/// The `[features]` a manifest declares (read from each side's own manifest: the baseline's
/// may differ from today's).
fn manifest_features(manifest: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("reading {}", manifest.display()))?;
    let doc: toml_edit::DocumentMut = text
        .parse()
        .with_context(|| format!("parsing {}", manifest.display()))?;
    Ok(doc
        .get("features")
        .and_then(|f| f.as_table_like())
        .map(|t| t.iter().map(|(k, _)| k.to_owned()).collect())
        .unwrap_or_default())
}

/// Builds the rustdoc JSON of package `name` from `manifest` (default features plus every
/// feature but [`API_NEUTRAL_FEATURES`]) and copies it to `<work>/<name>-<side>.json`.
fn rustdoc_json(
    workspace: &Path,
    manifest: &Path,
    name: &str,
    features: &[String],
    target: &Path,
    work: &Path,
    side: &str,
) -> Result<std::path::PathBuf> {
    let mut cmd = Command::new(crate::cargo());
    cmd.current_dir(workspace)
        .env("CARGO_TARGET_DIR", target)
        // rustdoc's JSON output is unstable; cargo-semver-checks sets the same on stable.
        .env("RUSTC_BOOTSTRAP", "1")
        .args(["rustdoc", "--quiet", "--locked", "--lib", "--manifest-path"])
        .arg(manifest);
    for feature in features {
        if feature != "default" && !API_NEUTRAL_FEATURES.contains(&feature.as_str()) {
            cmd.args(["--features", feature]);
        }
    }
    cmd.args([
        "--",
        "-Zunstable-options",
        "--output-format",
        "json",
        "--document-hidden-items",
    ]);
    crate::run(&mut cmd).with_context(|| format!("rustdoc JSON of {name} ({side})"))?;
    let built = target
        .join("doc")
        .join(format!("{}.json", name.replace('-', "_")));
    let kept = work.join(format!("{name}-{side}.json"));
    std::fs::copy(&built, &kept)
        .with_context(|| format!("copying {} to {}", built.display(), kept.display()))?;
    Ok(kept)
}

/// Removes a baseline worktree made by [`check`].
fn remove_worktree(root: &Path, tree: &Path) -> Result<()> {
    crate::run(
        Command::new("git")
            .current_dir(root)
            .args(["worktree", "remove", "--force"])
            .arg(tree),
    )
    .with_context(|| format!("removing the worktree {}", tree.display()))
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
    // Its release profile asks for fat LTO and one codegen unit; its checks take well under a
    // second either way, so it is installed without them (15 instead of 21 CPU-minutes here).
    crate::run(
        Command::new(crate::cargo())
            .env("CARGO_PROFILE_RELEASE_LTO", "false")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
            .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1")
            .args([
                "install",
                "--locked",
                "cargo-semver-checks",
                "--version",
                SEMVER_CHECKS_VERSION,
            ]),
    )
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

/// Whether `rev` is the commit that added `manifest` (it has no parent holding the file).
/// A release tag never is: `cargo xtask release` tags the commit bumping an existing crate.
fn created_in(root: &Path, manifest: &Path, rev: &str) -> Result<bool> {
    let rel = manifest.strip_prefix(root).unwrap_or(manifest);
    let status = Command::new("git")
        .current_dir(root)
        .args(["cat-file", "-e"])
        .arg(format!("{rev}^:{}", rel.display()))
        .stderr(std::process::Stdio::null())
        .status()
        .context("could not run git cat-file")?;
    Ok(!status.success())
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
