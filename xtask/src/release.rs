//! `cargo xtask release <crate> <version>`: releases one library crate on its own.
//!
//! 1. Checks the crate is publishable, has its own `version` and that `<version>` is greater.
//! 2. Sets the crate's `version`, the requirement in the root `[workspace.dependencies]` and
//!    any explicit requirement of another member (dependents follow the new version).
//! 3. Turns the `## [Unreleased]` section of the crate's `CHANGELOG.md` into
//!    `## [<version>] - <date>` under a fresh, empty `## [Unreleased]`; an empty section is
//!    refused (nothing to release).
//! 4. Refreshes `Cargo.lock`, commits the files it changed and tags `<crate>-v<version>`, the
//!    baseline `cargo xtask semver` compares the next change against (`--no-commit` stops
//!    after the edits).

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use toml_edit::{DocumentMut, Item, value};
use xtask::{Member, members};

/// `cargo xtask release` arguments.
#[derive(clap::Args, Debug)]
pub struct ReleaseArgs {
    /// The crate to release (a publishable workspace member, e.g. thirdparty-core).
    pub crate_name: String,
    /// Its new version (semver, greater than the current one), e.g. 0.2.0.
    pub version: String,
    /// Date of the changelog heading (YYYY-MM-DD); default today (UTC).
    #[arg(long)]
    pub date: Option<String>,
    /// Edit the files only: no Cargo.lock refresh, no commit, no tag.
    #[arg(long)]
    pub no_commit: bool,
}

/// The changelog heading of changes not released yet.
pub const UNRELEASED: &str = "## [Unreleased]";

/// The git tag of a crate's release: the baseline of later semver checks.
pub fn tag(crate_name: &str, version: &semver::Version) -> String {
    format!("{crate_name}-v{version}")
}

/// Runs the release (see the module doc).
pub fn run(root: &Path, args: &ReleaseArgs) -> Result<()> {
    let new = semver::Version::parse(&args.version).with_context(|| {
        format!(
            "`{}` is not a semver version; give one like 0.2.0",
            args.version
        )
    })?;
    let members = members(root)?;
    let member = members
        .iter()
        .find(|m| m.name == args.crate_name)
        .with_context(|| {
            let publishable: Vec<&str> = members
                .iter()
                .filter(|m| m.publishable)
                .map(|m| m.name.as_str())
                .collect();
            format!(
                "no workspace crate `{}`; publishable crates: {}",
                args.crate_name,
                publishable.join(", ")
            )
        })?;
    if !member.publishable {
        bail!(
            "{} has `publish = false`: binaries, the sandbox and test helpers are not released",
            member.name
        );
    }
    if new <= member.version {
        bail!(
            "{} is at {}; the new version must be greater than that",
            member.name,
            member.version
        );
    }
    let date = match &args.date {
        Some(date) => date.clone(),
        None => chrono::Utc::now().format("%Y-%m-%d").to_string(),
    };
    let crate_dir = member
        .manifest
        .parent()
        .context("a manifest has a directory")?;
    let mut changed = vec![
        set_package_version(&member.manifest, &new)?,
        release_changelog(&crate_dir.join("CHANGELOG.md"), &new, &date)?,
    ];
    changed.extend(set_requirements(root, &members, &member.name, &new)?);
    if args.no_commit {
        for file in &changed {
            println!("edited {}", file.display());
        }
        return Ok(());
    }
    crate::run(Command::new(crate::cargo()).current_dir(root).args([
        "update",
        "--workspace",
        "--offline",
    ]))?;
    changed.push(root.join("Cargo.lock"));
    let tag = tag(&member.name, &new);
    crate::run(
        Command::new("git")
            .current_dir(root)
            .arg("add")
            .args(&changed),
    )?;
    crate::run(Command::new("git").current_dir(root).args([
        "commit",
        "--quiet",
        "-m",
        &format!("release: {} {new}", member.name),
    ]))?;
    crate::run(Command::new("git").current_dir(root).args([
        "tag",
        "-a",
        &tag,
        "-m",
        &format!("{} {new}", member.name),
    ]))?;
    println!("released {} {new}: commit + tag {tag}", member.name);
    Ok(())
}

/// `cargo xtask package`: `cargo package` of every publishable crate at once (cargo packages
/// them in dependency order against a local overlay of the others, so path dependencies
/// become version requirements), each verified by building it from its `.crate` file.
pub fn package(root: &Path) -> Result<()> {
    let members = members(root)?;
    let publishable: Vec<&str> = members
        .iter()
        .filter(|m| m.publishable)
        .map(|m| m.name.as_str())
        .collect();
    if publishable.is_empty() {
        bail!("no publishable crate in the workspace (every member has `publish = false`)");
    }
    let mut cmd = Command::new(crate::cargo());
    cmd.current_dir(root).args(["package", "--locked"]);
    for name in &publishable {
        cmd.args(["--package", name]);
    }
    crate::run(&mut cmd)?;
    println!("packaged {}", publishable.join(", "));
    Ok(())
}

fn read_document(path: &Path) -> Result<DocumentMut> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    text.parse::<DocumentMut>()
        .with_context(|| format!("{} is not valid TOML", path.display()))
}

fn write_document(path: &Path, doc: &DocumentMut) -> Result<()> {
    std::fs::write(path, doc.to_string())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Sets `[package] version`; refuses `version.workspace = true` (the crate must version on
/// its own).
fn set_package_version(manifest: &Path, new: &semver::Version) -> Result<PathBuf> {
    let mut doc = read_document(manifest)?;
    let package = doc
        .get_mut("package")
        .and_then(Item::as_table_like_mut)
        .with_context(|| format!("{} has no [package]", manifest.display()))?;
    match package.get("version") {
        Some(item) if item.as_str().is_some() => {}
        _ => bail!(
            "{} does not set its own `version = \"…\"` (inherited versions cannot be released on their own)",
            manifest.display()
        ),
    }
    package.insert("version", value(new.to_string()));
    write_document(manifest, &doc)?;
    Ok(manifest.to_path_buf())
}

/// Moves the `## [Unreleased]` entries under `## [<new>] - <date>`.
fn release_changelog(path: &Path, new: &semver::Version, date: &str) -> Result<PathBuf> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read {}: every publishable crate keeps a CHANGELOG.md (Keep a Changelog)",
            path.display()
        )
    })?;
    let start = text
        .find(UNRELEASED)
        .with_context(|| format!("{} has no `{UNRELEASED}` heading", path.display()))?;
    let body_start = start + UNRELEASED.len();
    let rest = text.get(body_start..).unwrap_or("");
    let body_len = rest.find("\n## [").unwrap_or(rest.len());
    let body = rest.get(..body_len).unwrap_or("");
    if body.trim().is_empty() {
        bail!(
            "{}: nothing under `{UNRELEASED}`; write what changed there before releasing",
            path.display()
        );
    }
    let released = format!(
        "{}{UNRELEASED}\n\n## [{new}] - {date}{}",
        text.get(..start).unwrap_or(""),
        text.get(body_start..).unwrap_or("")
    );
    std::fs::write(path, released).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path.to_path_buf())
}

/// Updates the requirement on `name` in the root `[workspace.dependencies]` and in every
/// member that states its own `version` requirement for it.
fn set_requirements(
    root: &Path,
    members: &[Member],
    name: &str,
    new: &semver::Version,
) -> Result<Vec<PathBuf>> {
    let mut changed = Vec::new();
    let root_manifest = root.join("Cargo.toml");
    let mut doc = read_document(&root_manifest)?;
    let entry = doc
        .get_mut("workspace")
        .and_then(|w| w.get_mut("dependencies"))
        .and_then(|d| d.get_mut(name))
        .and_then(Item::as_table_like_mut);
    if let Some(entry) = entry
        && entry.contains_key("version")
    {
        entry.insert("version", value(new.to_string()));
        write_document(&root_manifest, &doc)?;
        changed.push(root_manifest);
    }
    for member in members.iter().filter(|m| m.name != name) {
        let mut doc = read_document(&member.manifest)?;
        let mut edited = false;
        for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
            let dep = doc
                .get_mut(section)
                .and_then(|d| d.get_mut(name))
                .and_then(Item::as_table_like_mut);
            if let Some(dep) = dep
                && dep.contains_key("version")
            {
                dep.insert("version", value(new.to_string()));
                edited = true;
            }
        }
        if edited {
            write_document(&member.manifest, &doc)?;
            changed.push(member.manifest.clone());
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, text).unwrap();
    }

    /// A two-crate workspace: `core-lib` and `user` (depends on it through the workspace).
    fn scratch_workspace() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let files = [
            (
                "Cargo.toml",
                "[workspace]\nresolver = \"3\"\nmembers = [\"crates/*\"]\n\n[workspace.dependencies]\ncore-lib = { path = \"crates/core-lib\", version = \"0.1.0\" }\n",
            ),
            (
                "crates/core-lib/Cargo.toml",
                "[package]\nname = \"core-lib\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
            ),
            ("crates/core-lib/src/lib.rs", ""),
            (
                "crates/core-lib/CHANGELOG.md",
                "# Changelog\n\n## [Unreleased]\n\n### Added\n- `thing`.\n\n## [0.1.0] - 2026-11-28\n\n### Added\n- First release.\n",
            ),
            (
                "crates/user/Cargo.toml",
                "[package]\nname = \"user\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\ncore-lib.workspace = true\n",
            ),
            ("crates/user/src/lib.rs", ""),
        ];
        for (path, text) in files {
            write(&dir.path().join(path), text);
        }
        dir
    }

    fn args(crate_name: &str, version: &str) -> ReleaseArgs {
        ReleaseArgs {
            crate_name: crate_name.to_owned(),
            version: version.to_owned(),
            date: Some("2026-12-01".to_owned()),
            no_commit: true,
        }
    }

    #[test]
    fn a_release_bumps_the_crate_its_requirement_and_its_changelog() {
        let dir = scratch_workspace();
        let root = dir.path();
        run(root, &args("core-lib", "0.2.0")).unwrap();
        let manifest = std::fs::read_to_string(root.join("crates/core-lib/Cargo.toml")).unwrap();
        assert!(manifest.contains("version = \"0.2.0\""), "{manifest}");
        let workspace = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        assert!(
            workspace.contains("core-lib = { path = \"crates/core-lib\", version = \"0.2.0\" }"),
            "{workspace}"
        );
        let changelog = std::fs::read_to_string(root.join("crates/core-lib/CHANGELOG.md")).unwrap();
        assert_eq!(
            changelog,
            "# Changelog\n\n## [Unreleased]\n\n## [0.2.0] - 2026-12-01\n\n### Added\n- `thing`.\n\n## [0.1.0] - 2026-11-28\n\n### Added\n- First release.\n"
        );
        let versions: Vec<(String, String)> = members(root)
            .unwrap()
            .into_iter()
            .map(|m| (m.name, m.version.to_string()))
            .collect();
        assert!(versions.contains(&("core-lib".to_owned(), "0.2.0".to_owned())));
        assert!(versions.contains(&("user".to_owned(), "0.1.0".to_owned())));
    }

    #[test]
    fn a_release_refuses_what_it_cannot_do() {
        let dir = scratch_workspace();
        let root = dir.path();
        let error = |crate_name: &str, version: &str| {
            run(root, &args(crate_name, version))
                .unwrap_err()
                .to_string()
        };
        assert!(error("core-lib", "0.1.0").contains("must be greater"));
        assert!(error("core-lib", "two").contains("not a semver version"));
        assert!(error("user", "0.2.0").contains("publish = false"));
        assert!(error("nope", "0.2.0").contains("publishable crates: core-lib"));
        run(root, &args("core-lib", "0.2.0")).unwrap();
        assert!(
            error("core-lib", "0.3.0").contains("nothing under `## [Unreleased]`"),
            "an empty Unreleased section is refused"
        );
    }
}
