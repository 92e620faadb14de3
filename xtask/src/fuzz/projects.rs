//! The cargo-fuzz projects `cargo xtask fuzz` runs (ARCHITECTURE.md, flavor contract §5), discovered, not listed:
//!
//! - `fuzz/`: the shared project (decoders of the first integrations, the config parser);
//!   seeds from its `seed-corpus` tool, regression inputs in `fixtures/fuzz/<target>/`;
//! - every `crates/<integration>/fuzz/Cargo.toml`: an integration's own project (its own
//!   `[workspace]`, like `fuzz/`). Its targets are its `[[bin]]`s under `fuzz_targets/`; the
//!   fuzz package's metadata names the flavor it belongs to and the seed folders:
//!
//! ```toml
//! [package.metadata.case-reader-fuzz]
//! flavor = "github"                                  # regression inputs: fixtures/github/fuzz/<target>/
//! seeds.github_decode = ["fixtures/github/payloads"] # folders relative to the workspace root;
//!                                                    # every file in them is a seed input
//! ```
//!
//! Every project builds into the same `target/fuzz/build` directory.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// A fuzz target as its project's `Cargo.toml` declares it: a `[[bin]]` under `fuzz_targets/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Target {
    pub(super) name: String,
    /// It needs the `config` feature of the shared project (the reader-app crate, which
    /// brings the whole service shell); the others build without it.
    pub(super) needs_config: bool,
    /// Its regression inputs: `fixtures/fuzz/<target>/` or `fixtures/<flavor>/fuzz/<target>/`.
    pub(super) regressions: PathBuf,
    /// Read-only seed folders from the project's metadata (none for the shared project,
    /// whose seed tool writes `target/fuzz/seeds/<target>/`).
    pub(super) seed_dirs: Vec<PathBuf>,
}

/// One cargo-fuzz project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Project {
    /// Its directory (`<root>/fuzz`, `<root>/crates/<integration>/fuzz`).
    pub(super) dir: PathBuf,
    /// Whether it is the shared `fuzz/` project (config feature, seed tool).
    pub(super) shared: bool,
    pub(super) targets: Vec<Target>,
}

/// The shared project, then every integration's, sorted by path; target names are unique.
pub(super) fn projects(root: &Path) -> Result<Vec<Project>> {
    let mut found = vec![project(root, &root.join("fuzz"), true)?];
    let crates = root.join("crates");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&crates)
        .with_context(|| format!("listing {}", crates.display()))?
        .filter_map(|e| e.ok().map(|e| e.path().join("fuzz")))
        .filter(|dir| dir.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        found.push(project(root, &dir, false)?);
    }
    let mut names: Vec<&str> = found
        .iter()
        .flat_map(|p| p.targets.iter().map(|t| t.name.as_str()))
        .collect();
    names.sort_unstable();
    if let Some(pair) = names.windows(2).find(|w| w.first() == w.get(1)) {
        bail!(
            "two fuzz projects declare the target `{}`: they share target/fuzz/build, rename one",
            pair.first().copied().unwrap_or_default()
        );
    }
    Ok(found)
}

fn project(root: &Path, dir: &Path, shared: bool) -> Result<Project> {
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let doc: toml_edit::DocumentMut = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", manifest.display()))?;
    let meta = doc
        .get("package")
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("case-reader-fuzz"));
    let flavor = meta
        .and_then(|m| m.get("flavor"))
        .and_then(toml_edit::Item::as_str);
    let regressions_of = |target: &str| match (shared, flavor) {
        (true, _) => Ok(root.join("fixtures").join("fuzz").join(target)),
        (false, Some(flavor)) => Ok(root.join("fixtures").join(flavor).join("fuzz").join(target)),
        (false, None) => bail!(
            "{} needs [package.metadata.case-reader-fuzz] flavor = \"<flavor>\" (its \
             regression inputs are fixtures/<flavor>/fuzz/<target>/)",
            manifest.display()
        ),
    };
    let bins = doc
        .get("bin")
        .and_then(toml_edit::Item::as_array_of_tables)
        .with_context(|| format!("{} declares no [[bin]]", manifest.display()))?;
    let mut targets = Vec::new();
    for bin in bins {
        let in_targets = bin
            .get("path")
            .and_then(toml_edit::Item::as_str)
            .is_some_and(|path| path.starts_with("fuzz_targets/"));
        let Some(name) = bin.get("name").and_then(toml_edit::Item::as_str) else {
            continue;
        };
        if !in_targets {
            continue;
        }
        let needs_config = shared
            && bin
                .get("required-features")
                .and_then(toml_edit::Item::as_array)
                .is_some_and(|features| features.iter().any(|f| f.as_str() == Some("config")));
        let seed_dirs = meta
            .and_then(|m| m.get("seeds"))
            .and_then(|s| s.get(name))
            .and_then(toml_edit::Item::as_array)
            .map(|dirs| {
                dirs.iter()
                    .filter_map(|d| d.as_str().map(|d| root.join(d)))
                    .collect()
            })
            .unwrap_or_default();
        targets.push(Target {
            name: name.to_owned(),
            needs_config,
            regressions: regressions_of(name)?,
            seed_dirs,
        });
    }
    Ok(Project {
        dir: dir.to_path_buf(),
        shared,
        targets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHARED: &str = "[package]\nname = \"s\"\n[[bin]]\nname = \"a_decode\"\npath = \"fuzz_targets/a.rs\"\n\
        [[bin]]\nname = \"cfg\"\npath = \"fuzz_targets/cfg.rs\"\nrequired-features = [\"config\"]\n\
        [[bin]]\nname = \"tool\"\npath = \"src/bin/tool.rs\"\n";

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn integration_projects_are_found_with_their_flavor_seeds_and_regressions() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        write(&root.join("fuzz/Cargo.toml"), SHARED);
        write(
            &root.join("crates/lib/Cargo.toml"),
            "[package]\nname = \"lib\"\n",
        );
        write(
            &root.join("crates/gh/fuzz/Cargo.toml"),
            "[package]\nname = \"gh-fuzz\"\n\n[package.metadata.case-reader-fuzz]\n\
             flavor = \"github\"\nseeds.gh_decode = [\"fixtures/github/payloads\", \"fixtures/github/more\"]\n\n\
             [[bin]]\nname = \"gh_decode\"\npath = \"fuzz_targets/gh_decode.rs\"\n\
             [[bin]]\nname = \"gh_markup\"\npath = \"fuzz_targets/gh_markup.rs\"\n",
        );
        let found = projects(root).unwrap();
        assert_eq!(found.len(), 2);
        let shared = &found[0];
        assert!(shared.shared);
        let names: Vec<&str> = shared.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a_decode", "cfg"], "tools are not targets");
        assert!(shared.targets[1].needs_config && !shared.targets[0].needs_config);
        assert_eq!(
            shared.targets[0].regressions,
            root.join("fixtures/fuzz/a_decode")
        );

        let gh = &found[1];
        assert_eq!(gh.dir, root.join("crates/gh/fuzz"));
        assert_eq!(gh.targets[0].name, "gh_decode");
        assert_eq!(
            gh.targets[0].regressions,
            root.join("fixtures/github/fuzz/gh_decode")
        );
        assert_eq!(
            gh.targets[0].seed_dirs,
            [
                root.join("fixtures/github/payloads"),
                root.join("fixtures/github/more")
            ]
        );
        assert!(gh.targets[1].seed_dirs.is_empty());
    }

    #[test]
    fn a_project_without_flavor_or_a_duplicate_target_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        write(&root.join("fuzz/Cargo.toml"), SHARED);
        let manifest = root.join("crates/x/fuzz/Cargo.toml");
        write(
            &manifest,
            "[package]\nname = \"x\"\n[[bin]]\nname = \"x_decode\"\npath = \"fuzz_targets/x.rs\"\n",
        );
        let err = format!("{:#}", projects(root).unwrap_err());
        assert!(err.contains("flavor = "), "{err}");
        write(
            &manifest,
            "[package]\nname = \"x\"\n[package.metadata.case-reader-fuzz]\nflavor = \"x\"\n\
             [[bin]]\nname = \"a_decode\"\npath = \"fuzz_targets/a.rs\"\n",
        );
        let err = format!("{:#}", projects(root).unwrap_err());
        assert!(err.contains("a_decode"), "{err}");
    }
}
