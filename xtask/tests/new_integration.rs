//! Proof that `cargo xtask new-integration` adds a working flavor by itself: in a copy of the
//! workspace (its tracked files as they are in the working tree, committed in a fresh git
//! repository), scaffold a throwaway integration, then build it and run its tests, run the
//! deploy checks with the new reader, and check that no tracked file outside the new flavor's
//! own folders changed (Cargo.lock aside).
//!
//! Every build uses the workspace's own target directory, so only the new packages compile
//! when the rest is built (run it through `cargo xtask test`, as CI does: the inner builds
//! then see the same environment as the outer one and reuse its artifacts). The copy lives at
//! `<target>/new-integration-proof/ws`, a fixed path, so reruns reuse their own artifacts.
//! The steps' times are printed (`--nocapture`). It needs git, and what deploy/check.sh
//! needs (python3 with PyPI for its pinned tools, apt for promtool); a missing one fails the
//! test saying so.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test helpers: a failed step panics with what went wrong, as a test does

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The throwaway integration.
const NAME: &str = "proof_flavor";

fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map_or(manifest.clone(), Path::to_path_buf)
}

/// Runs `cmd`; `Err` names the step and quotes the tail of its output.
fn step(what: &str, cmd: &mut Command) -> Result<String, String> {
    let started = Instant::now();
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: could not start {:?}: {e}", cmd.get_program()))?;
    eprintln!("proof: {what}: {:.1} s", started.elapsed().as_secs_f64());
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        return Ok(stdout);
    }
    let text = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines.get(lines.len().saturating_sub(40)..).unwrap_or(&[]);
    Err(format!(
        "{what} failed ({}):\n{}",
        out.status,
        tail.join("\n")
    ))
}

fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .args(["-c", "user.name=proof", "-c", "user.email=proof@localhost"])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "core.hooksPath=/dev/null",
        ]);
    cmd
}

/// The target directory of the workspace at `root`, as cargo resolves it.
fn target_dir(root: &Path) -> PathBuf {
    let out = step(
        "cargo metadata",
        Command::new(env!("CARGO")).current_dir(root).args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ]),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let meta: serde_json::Value = serde_json::from_str(&out).unwrap();
    PathBuf::from(meta["target_directory"].as_str().unwrap())
}

/// Copies the tracked files of `root` (working-tree contents) to `dest`, and commits them
/// there. A file already in `dest` with the same content is left as it is, so cargo's
/// fingerprints of an earlier run stay valid; everything else in `dest` (stale files, the
/// last run's scaffold and `.git`) is removed, and a new or changed file is written now, so
/// cargo rebuilds what changed.
fn copy_workspace(root: &Path, dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    let listed = step("git ls-files", git(root).args(["ls-files", "-z"])).unwrap();
    let tracked: std::collections::BTreeSet<PathBuf> = listed
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .collect();
    remove_stale(root, dest, Path::new(""), &tracked);
    for rel in &tracked {
        let from = root.join(rel);
        let Ok(meta) = std::fs::symlink_metadata(&from) else {
            continue; // deleted in the working tree
        };
        let to = dest.join(rel);
        if std::fs::symlink_metadata(&to).is_ok() {
            continue; // same content, kept by remove_stale
        }
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from).unwrap(), &to).unwrap();
        } else {
            std::fs::copy(&from, &to).unwrap();
        }
    }
    step("git init", git(dest).args(["init", "-q"])).unwrap();
    step("git add", git(dest).args(["add", "-A"])).unwrap();
    step(
        "git commit",
        git(dest).args(["commit", "-q", "-m", "the workspace"]),
    )
    .unwrap();
}

/// Removes what under `dest/rel` is not a tracked file of `root` with the same content (the
/// `target` link to the shared target dir stays).
fn remove_stale(
    root: &Path,
    dest: &Path,
    rel: &Path,
    tracked: &std::collections::BTreeSet<PathBuf>,
) {
    let Ok(entries) = std::fs::read_dir(dest.join(rel)) else {
        return;
    };
    for entry in entries {
        let entry = entry.unwrap();
        let path = rel.join(entry.file_name());
        if path == Path::new("target") {
            continue;
        }
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            remove_stale(root, dest, &path, tracked);
            if std::fs::read_dir(dest.join(&path)).is_ok_and(|mut d| d.next().is_none()) {
                std::fs::remove_dir(dest.join(&path)).unwrap();
            }
            continue;
        }
        let same = tracked.contains(&path)
            && if kind.is_symlink() {
                std::fs::read_link(dest.join(&path)).ok()
                    == std::fs::read_link(root.join(&path)).ok()
            } else {
                std::fs::read(dest.join(&path)).ok() == std::fs::read(root.join(&path)).ok()
            };
        if !same {
            std::fs::remove_file(dest.join(&path)).unwrap();
        }
    }
}

/// The changed or new paths `git status` reports that are outside the new flavor's folders.
fn stray_changes(status: &str) -> Vec<String> {
    let own = [
        format!("crates/{NAME}/"),
        format!("bins/reader-{NAME}/"),
        format!("fixtures/{NAME}/"),
        format!("deploy/helm/case-third-party-reader/values/flavors/{NAME}.yaml"),
        "Cargo.lock".to_owned(),
    ];
    status
        .lines()
        .filter_map(|line| line.get(3..))
        .filter(|path| !own.iter().any(|o| path.starts_with(o.as_str())))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_scaffolded_integration_builds_passes_its_tests_and_the_deploy_checks_alone() {
    let started = Instant::now();
    let root = workspace_root();
    let target = target_dir(&root);
    let ws = target.join("new-integration-proof").join("ws");
    copy_workspace(&root, &ws);
    // deploy/check.sh keeps its tools in `<root>/target/`: share the real ones (git ignores it).
    if std::fs::symlink_metadata(ws.join("target")).is_err() {
        std::os::unix::fs::symlink(&target, ws.join("target")).unwrap();
    }

    let cargo = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.current_dir(&ws)
            .env("CARGO_TARGET_DIR", &target)
            .args(args);
        cmd
    };
    let mut failures = Vec::new();
    let scaffold = step(
        "xtask new-integration",
        Command::new(env!("CARGO_BIN_EXE_xtask"))
            .env("CARGO_TARGET_DIR", &target)
            // the error, not anyhow's backtrace, in the last lines of the output
            .env("RUST_BACKTRACE", "0")
            .args(["new-integration", NAME, "--root"])
            .arg(&ws),
    );
    if let Err(e) = scaffold {
        panic!("{e}");
    }
    let reader = format!("reader-{NAME}");
    let bin_dir = target.join("debug");
    let checks: [(&str, Command); 2] = [
        (
            "the new packages' tests",
            cargo(&["test", "-p", NAME, "-p", &reader]),
        ),
        ("deploy/check.sh", {
            let mut cmd = Command::new("bash");
            cmd.current_dir(&ws)
                .arg("deploy/check.sh")
                .arg("--reader-bin-dir")
                .arg(&bin_dir);
            cmd
        }),
    ];
    for (what, mut cmd) in checks {
        if let Err(e) = step(what, &mut cmd) {
            failures.push(e);
        }
    }
    let status = step(
        "git status",
        git(&ws).args(["status", "--porcelain", "--untracked-files=all"]),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let stray = stray_changes(&status);
    if !stray.is_empty() {
        failures.push(format!(
            "the scaffold changed files outside the new flavor's folders: {stray:?}"
        ));
    }
    for wanted in [
        format!("?? crates/{NAME}/src/lib.rs"),
        format!("?? bins/{reader}/config.example.ini"),
        format!("?? deploy/helm/case-third-party-reader/values/flavors/{NAME}.yaml"),
    ] {
        if !status.lines().any(|l| l == wanted) {
            failures.push(format!("git status does not show {wanted:?}:\n{status}"));
        }
    }
    eprintln!("proof: total {:.1} s", started.elapsed().as_secs_f64());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
