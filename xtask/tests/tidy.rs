//! Repository rules as ordinary tests (after rust-analyzer's `xtask/src/tidy.rs`): the
//! dependency rules of ARCHITECTURE.md and the size limit of a source file, checked against
//! `cargo metadata` and the files git knows. Each failure names the offending crate or file
//! and the rule it breaks.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The longest `.rs` file the workspace accepts (tests included).
const MAX_RS_LINES: usize = 800;

/// The crate that owns protobuf: generated code, wire conversions, status mapping.
const PROTO_CRATE: &str = "case-proto";

/// Build-time proto compilers; only [`PROTO_CRATE`] may run one.
const PROTO_COMPILERS: &[&str] = &["protox", "tonic-prost-build", "prost-build", "tonic-build"];

fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map_or(manifest.clone(), Path::to_path_buf)
}

/// A workspace member as `cargo metadata` describes it.
struct Member {
    name: String,
    manifest: PathBuf,
    /// (dependency name, kind: "normal" | "dev" | "build")
    deps: Vec<(String, String)>,
    /// Source paths of the member's `custom-build` targets (build.rs).
    build_scripts: Vec<PathBuf>,
    /// Names of its `bin` targets.
    bins: Vec<String>,
}

fn members() -> Result<Vec<Member>, String> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(workspace_root())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .output()
        .map_err(|e| format!("could not run cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let meta: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("cargo metadata printed invalid JSON: {e}"))?;
    let packages = meta
        .get("packages")
        .and_then(Value::as_array)
        .ok_or("cargo metadata has no packages array")?;
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or("").to_owned();
    Ok(packages
        .iter()
        .map(|p| {
            let deps = p
                .get("dependencies")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|d| {
                    let kind = d.get("kind").and_then(Value::as_str).unwrap_or("normal");
                    (text(d, "name"), kind.to_owned())
                })
                .collect();
            let targets: Vec<&Value> = p
                .get("targets")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .collect();
            let has_kind = |t: &Value, kind: &str| {
                t.get("kind")
                    .and_then(Value::as_array)
                    .is_some_and(|ks| ks.iter().any(|k| k.as_str() == Some(kind)))
            };
            Member {
                name: text(p, "name"),
                manifest: PathBuf::from(text(p, "manifest_path")),
                deps,
                build_scripts: targets
                    .iter()
                    .filter(|t| has_kind(t, "custom-build"))
                    .map(|t| PathBuf::from(text(t, "src_path")))
                    .collect(),
                bins: targets
                    .iter()
                    .filter(|t| has_kind(t, "bin"))
                    .map(|t| text(t, "name"))
                    .collect(),
            }
        })
        .collect())
}

/// Flavors are discovered, not listed: every member with a `reader-<flavor>` binary is one,
/// and `<flavor>` is its integration crate.
fn integration_crates(members: &[Member]) -> Vec<String> {
    members
        .iter()
        .flat_map(|m| m.bins.iter())
        .filter_map(|bin| bin.strip_prefix("reader-"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_reader_binary_has_its_integration_crate() -> Result<(), String> {
    let members = members()?;
    let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
    let flavors = integration_crates(&members);
    if flavors.len() < 2 {
        return Err(format!(
            "expected the reader-jira and reader-servicenow binaries at least, found flavors {flavors:?}"
        ));
    }
    let missing: Vec<&String> = flavors
        .iter()
        .filter(|f| !names.contains(&f.as_str()))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "binaries reader-<flavor> without a crate named <flavor>: {missing:?}; an integration is one crate plus one thin binary"
        ))
    }
}

/// `<integration> → <workspace crate> (<kind>)` for every non-dev dependency of an integration
/// crate on a workspace crate other than thirdparty-core.
fn integration_dependency_violations(members: &[Member]) -> Vec<String> {
    let workspace: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
    let mut broken = Vec::new();
    for flavor in integration_crates(members) {
        let Some(member) = members.iter().find(|m| m.name == flavor) else {
            continue; // reported by every_reader_binary_has_its_integration_crate
        };
        for (dep, kind) in &member.deps {
            let is_workspace_crate = workspace.contains(&dep.as_str());
            if kind != "dev" && is_workspace_crate && dep != "thirdparty-core" {
                broken.push(format!("{flavor} → {dep} ({kind})"));
            }
        }
    }
    broken
}

#[test]
fn integration_crates_depend_only_on_thirdparty_core() -> Result<(), String> {
    let broken = integration_dependency_violations(&members()?);
    if broken.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "integration crates may depend on no workspace crate but thirdparty-core (dev-dependencies aside): {broken:?}"
        ))
    }
}

#[test]
fn the_integration_rule_catches_a_forbidden_dependency() {
    let member = |name: &str, deps: &[(&str, &str)], bins: &[&str]| Member {
        name: name.to_owned(),
        manifest: PathBuf::from(format!("{name}/Cargo.toml")),
        deps: deps
            .iter()
            .map(|(d, k)| ((*d).to_owned(), (*k).to_owned()))
            .collect(),
        build_scripts: Vec::new(),
        bins: bins.iter().map(|b| (*b).to_owned()).collect(),
    };
    let members = [
        member("thirdparty-core", &[], &[]),
        member("case-client", &[], &[]),
        member("case-sandbox", &[], &[]),
        member(
            "linear",
            &[
                ("thirdparty-core", "normal"),
                ("case-sandbox", "dev"),
                ("case-client", "normal"),
                ("serde", "normal"),
            ],
            &[],
        ),
        member("reader-linear", &[("linear", "normal")], &["reader-linear"]),
    ];
    assert_eq!(
        integration_dependency_violations(&members),
        ["linear → case-client (normal)"],
        "a normal dependency on another workspace crate is refused; dev-dependencies and registry crates are not"
    );
}

#[test]
fn case_sandbox_does_not_depend_on_case_client() -> Result<(), String> {
    let members = members()?;
    let sandbox = members
        .iter()
        .find(|m| m.name == "case-sandbox")
        .ok_or("no case-sandbox member")?;
    match sandbox.deps.iter().find(|(dep, _)| dep == "case-client") {
        None => Ok(()),
        Some((_, kind)) => Err(format!(
            "case-sandbox depends on case-client ({kind}); a server takes its protobuf from {PROTO_CRATE}"
        )),
    }
}

#[test]
fn only_case_proto_compiles_protobuf() -> Result<(), String> {
    let members = members()?;
    let mut broken = Vec::new();
    for member in members.iter().filter(|m| m.name != PROTO_CRATE) {
        for (dep, kind) in &member.deps {
            if kind == "build" && PROTO_COMPILERS.contains(&dep.as_str()) {
                broken.push(format!("{} has build-dependency {dep}", member.name));
            }
        }
        for script in &member.build_scripts {
            let source = std::fs::read_to_string(script)
                .map_err(|e| format!("cannot read {}: {e}", script.display()))?;
            let source = source.replace('-', "_");
            for compiler in PROTO_COMPILERS {
                if source.contains(&compiler.replace('-', "_")) {
                    broken.push(format!("{} runs {compiler}", script.display()));
                }
            }
        }
    }
    let proto = members
        .iter()
        .find(|m| m.name == PROTO_CRATE)
        .ok_or(format!("no {PROTO_CRATE} member"))?;
    if proto.build_scripts.is_empty() {
        broken.push(format!("{PROTO_CRATE} has no build.rs"));
    }
    if broken.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "only {PROTO_CRATE} may run the proto compiler: {broken:?} (at {})",
            proto.manifest.display()
        ))
    }
}

#[test]
fn no_source_file_is_over_the_line_limit() -> Result<(), String> {
    let root = workspace_root();
    let output = Command::new("git")
        .current_dir(&root)
        .args([
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "*.rs",
        ])
        .output()
        .map_err(|e| format!("could not run git ls-files: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "git ls-files failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let mut too_long = BTreeMap::new();
    let listed = String::from_utf8_lossy(&output.stdout);
    for file in listed.lines() {
        let path = root.join(file);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // deleted in the work tree but still in the index
        };
        let lines = text.lines().count();
        if lines > MAX_RS_LINES {
            too_long.insert(file.to_owned(), lines);
        }
    }
    if listed.lines().count() < 50 {
        return Err(format!(
            "git listed only {} .rs files: is this a checkout?",
            listed.lines().count()
        ));
    }
    if too_long.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "split these files by topic (at most {MAX_RS_LINES} lines each): {too_long:?}"
        ))
    }
}
