//! Repository rules as ordinary tests (after rust-analyzer's `xtask/src/tidy.rs`): the
//! dependency rules of ARCHITECTURE.md, the flavor naming rule (ARCHITECTURE.md, flavor
//! contract §1) and the size limit of a source file, checked against `cargo metadata` and the
//! files git knows. Each failure names the offending crate or file and the rule it breaks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use xtask::Member;

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

/// Every workspace member, read by the same parser `cargo xtask release` uses.
fn members() -> Result<Vec<Member>, String> {
    xtask::members(&workspace_root()).map_err(|e| format!("{e:#}"))
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
        version: semver::Version::new(0, 1, 0),
        manifest: PathBuf::from(format!("{name}/Cargo.toml")),
        publishable: false,
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

/// Each publishable crate versions on its own: it has a `CHANGELOG.md` with the
/// `## [Unreleased]` section `cargo xtask release` dates.
#[test]
fn every_publishable_crate_has_its_changelog() -> Result<(), String> {
    let missing: Vec<String> = members()?
        .iter()
        .filter(|m| m.publishable)
        .filter_map(|m| {
            let path = m.manifest.with_file_name("CHANGELOG.md");
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            (!text.contains("## [Unreleased]")).then(|| {
                format!(
                    "{}: {} lacks a `## [Unreleased]` section (add the file; see any crate's)",
                    m.name,
                    path.display()
                )
            })
        })
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing.join("\n"))
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
    let stdout = xtask::stdout_of(Command::new("git").current_dir(&root).args([
        "ls-files",
        "--cached",
        "--others",
        "--exclude-standard",
        "*.rs",
    ]))
    .map_err(|e| format!("{e:#}"))?;
    let mut too_long = BTreeMap::new();
    let listed = String::from_utf8_lossy(&stdout);
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

/// What is wrong with the flavor `flavor` (ARCHITECTURE.md, flavor contract §1): its metadata name, its package
/// name and the `Flavor::NAME` in its `src/main.rs` must be one name.
fn flavor_name_mismatches(flavor: &xtask::Flavor, main_rs: &str) -> Vec<String> {
    let mut wrong = Vec::new();
    if flavor.package.strip_prefix("reader-") != Some(flavor.name.as_str()) {
        wrong.push(format!(
            "package {} declares flavor `{}`: name the package reader-{}",
            flavor.package, flavor.name, flavor.name
        ));
    }
    let declared = format!("const NAME: &'static str = \"{}\";", flavor.name);
    if !main_rs.contains(&declared) {
        wrong.push(format!(
            "{}/src/main.rs has no `{declared}`: Flavor::NAME must equal the metadata flavor",
            flavor.dir.display()
        ));
    }
    wrong
}

#[test]
fn every_flavor_has_one_name_in_metadata_package_and_binary() -> Result<(), String> {
    let flavors = xtask::flavors(&workspace_root()).map_err(|e| format!("{e:#}"))?;
    if flavors.is_empty() {
        return Err(
            "no flavor discovered: bins/reader-* need [package.metadata.case-reader]".into(),
        );
    }
    let mut wrong = Vec::new();
    for flavor in &flavors {
        let main = flavor.dir.join("src").join("main.rs");
        let text = std::fs::read_to_string(&main)
            .map_err(|e| format!("cannot read {}: {e}", main.display()))?;
        wrong.extend(flavor_name_mismatches(flavor, &text));
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!("flavor names disagree: {wrong:?}"))
    }
}

#[test]
fn the_flavor_name_rule_catches_each_disagreement() {
    let flavor = |name: &str, package: &str| xtask::Flavor {
        name: name.to_owned(),
        package: package.to_owned(),
        bin: package.to_owned(),
        dir: PathBuf::from(format!("bins/{package}")),
        real_broker: false,
    };
    let main = "impl Flavor for Linear {\n    const NAME: &'static str = \"linear\";\n";
    assert!(flavor_name_mismatches(&flavor("linear", "reader-linear"), main).is_empty());
    assert_eq!(
        flavor_name_mismatches(&flavor("linear", "reader-lin"), main).len(),
        1,
        "package name ≠ reader-<flavor>"
    );
    assert_eq!(
        flavor_name_mismatches(&flavor("lin", "reader-lin"), main).len(),
        1,
        "Flavor::NAME ≠ metadata flavor"
    );
}

/// Every `{"outcome": "filtered", "reason": …}` expectation in a JSON file under `node`.
fn filtered_reasons_in(node: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
    match node {
        serde_json::Value::Object(map) => {
            if map.get("outcome").and_then(serde_json::Value::as_str) == Some("filtered")
                && let Some(reason) = map.get("reason").and_then(serde_json::Value::as_str)
            {
                out.insert(reason.to_owned());
            }
            map.values().for_each(|v| filtered_reasons_in(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| filtered_reasons_in(v, out)),
        _ => {}
    }
}

/// Each of the 27 filter reasons is the expected outcome of at least one fixture of some
/// flavor (the flavors' fixture tests check those expectations against the real pipeline):
/// a reason nothing produces is a reason to remove, not to keep.
#[test]
fn every_filter_reason_is_produced_by_some_fixture() -> Result<(), String> {
    fn walk(dir: &Path, out: &mut std::collections::BTreeSet<String>) -> Result<(), String> {
        for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                walk(&path, out)?;
            } else if path.extension().is_some_and(|e| e == "json")
                && let Ok(value) =
                    serde_json::from_slice(&std::fs::read(&path).map_err(|e| e.to_string())?)
            {
                filtered_reasons_in(&value, out);
            }
        }
        Ok(())
    }
    let mut found = std::collections::BTreeSet::new();
    walk(&workspace_root().join("fixtures"), &mut found)?;
    let missing: Vec<&str> = thirdparty_core::FilteredReason::ALL
        .iter()
        .map(|r| r.as_str())
        .filter(|r| !found.contains(*r))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "no fixture under fixtures/ expects these filter reasons: {missing:?}; add a scenario that produces each, or remove the reason"
        ))
    }
}
