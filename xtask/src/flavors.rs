//! Flavor discovery (ARCHITECTURE.md, flavor contract §1): a flavor is a workspace package under `bins/` whose
//! `Cargo.toml` has
//!
//! ```toml
//! [package.metadata.case-reader]
//! flavor = "jira"          # == Flavor::NAME of the binary, == package name minus "reader-"
//! ```
//!
//! Nothing in xtask lists flavors: codegen, the test tiers, the demo, the bench, pgo and the
//! image commands iterate [`flavors`]. `xtask/tests/tidy.rs` checks that the metadata flavor,
//! the package name and the binary's own `Flavor::NAME` agree.

use super::{array, metadata, packages, text};
use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The cargo feature of a flavor bin that switches on its real-broker (Tansu) e2e tests.
pub const REAL_BROKER_FEATURE: &str = "real-broker";

/// The feature of the runtime crate every real-broker tier also enables.
pub const RUNTIME_TIER_FEATURE: &str = "kafka-runtime/real-broker";

/// One discovered flavor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flavor {
    /// `jira`: the metadata's `flavor` (the binary's `Flavor::NAME`).
    pub name: String,
    /// `reader-jira`: the package.
    pub package: String,
    /// `reader-jira`: its binary target.
    pub bin: String,
    /// `<root>/bins/reader-jira`: the directory of its `Cargo.toml`.
    pub dir: PathBuf,
    /// Whether it declares the `real-broker` feature (its Tansu e2e tests).
    pub real_broker: bool,
}

impl Flavor {
    /// `reader-jira/real-broker` when the flavor declares that feature.
    pub fn tier_feature(&self) -> Option<String> {
        self.real_broker
            .then(|| format!("{}/{REAL_BROKER_FEATURE}", self.package))
    }

    /// `<root>/fixtures/<flavor>`: its seed, demo, e2e, bench and fuzz inputs (ARCHITECTURE.md, flavor contract §4).
    pub fn fixtures(&self, root: &Path) -> PathBuf {
        root.join("fixtures").join(&self.name)
    }

    /// The topic the reader consumes unless `kafka.topic` is set (ARCHITECTURE.md, flavor contract §8; reader-app
    /// derives it from `Flavor::NAME` the same way). Commands that produce for a reader also
    /// pass it as `kafka.topic`, so a change of the rule cannot leave them waiting.
    pub fn default_topic(&self) -> String {
        format!("collaboration_integrations_{}", self.name)
    }
}

/// Every flavor of the workspace at `root`, sorted by name (`cargo metadata --no-deps`).
pub fn flavors(root: &Path) -> Result<Vec<Flavor>> {
    flavors_in(&metadata(root)?)
}

/// The flavors of a `cargo metadata --format-version 1` document.
pub fn flavors_in(meta: &Value) -> Result<Vec<Flavor>> {
    let bins_dir = Path::new(&text(meta, "workspace_root")).join("bins");
    let mut found = Vec::new();
    for package in packages(meta)? {
        let Some(table) = package.pointer("/metadata/case-reader") else {
            continue;
        };
        let manifest = PathBuf::from(text(package, "manifest_path"));
        let name = table
            .get("flavor")
            .and_then(Value::as_str)
            .filter(|f| !f.is_empty())
            .with_context(|| {
                format!(
                    "{}: [package.metadata.case-reader] needs `flavor = \"<name>\"` (ARCHITECTURE.md, flavor contract §1)",
                    manifest.display()
                )
            })?;
        let dir = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
        if dir.parent() != Some(bins_dir.as_path()) {
            bail!(
                "{} declares flavor `{name}` but is not a package directly under {}: move the \
                 flavor binary to bins/reader-{name}/",
                manifest.display(),
                bins_dir.display()
            );
        }
        let package_name = text(package, "name");
        let bins: Vec<String> = array(package, "targets")
            .filter(|t| array(t, "kind").any(|k| k.as_str() == Some("bin")))
            .map(|t| text(t, "name"))
            .collect();
        let bin = match bins.iter().find(|b| **b == package_name) {
            Some(bin) => bin.clone(),
            None => match bins.as_slice() {
                [only] => only.clone(),
                _ => bail!(
                    "{}: flavor `{name}` needs exactly one binary (or one named {package_name}), \
                     found {bins:?}",
                    manifest.display()
                ),
            },
        };
        let real_broker = package
            .get("features")
            .and_then(Value::as_object)
            .is_some_and(|f| f.contains_key(REAL_BROKER_FEATURE));
        found.push(Flavor {
            name: name.to_owned(),
            package: package_name,
            bin,
            dir,
            real_broker,
        });
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// The cargo features of the test tiers needing extra components (ARCHITECTURE.md, flavor contract §2):
/// `kafka-runtime/real-broker` and `<package>/real-broker` of every flavor declaring it.
pub fn tier_features(flavors: &[Flavor]) -> Vec<String> {
    std::iter::once(RUNTIME_TIER_FEATURE.to_owned())
        .chain(flavors.iter().filter_map(Flavor::tier_feature))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn package(name: &str, dir: &str, flavor: Option<&str>, features: &[&str]) -> Value {
        let mut p = json!({
            "name": name,
            "manifest_path": format!("/ws/{dir}/Cargo.toml"),
            "targets": [{"name": name, "kind": ["bin"]}, {"name": "cli", "kind": ["test"]}],
            "features": features.iter().map(|f| ((*f).to_owned(), json!([]))).collect::<serde_json::Map<_, _>>(),
            "metadata": null,
        });
        if let Some(flavor) = flavor {
            p["metadata"] = json!({"case-reader": {"flavor": flavor}});
        }
        p
    }

    #[test]
    fn flavors_are_the_bins_packages_with_the_metadata_table() {
        let meta = json!({
            "workspace_root": "/ws",
            "packages": [
                package("reader-zeta", "bins/reader-zeta", Some("zeta"), &[]),
                package("jira", "crates/jira", None, &[]),
                package("reader-alpha", "bins/reader-alpha", Some("alpha"), &["real-broker", "fips"]),
                package("tool", "bins/tool", None, &[]),
            ],
        });
        let found = flavors_in(&meta).unwrap();
        let names: Vec<&str> = found.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["alpha", "zeta"]);
        let alpha = &found[0];
        assert_eq!(alpha.package, "reader-alpha");
        assert_eq!(alpha.bin, "reader-alpha");
        assert_eq!(alpha.dir, Path::new("/ws/bins/reader-alpha"));
        assert!(alpha.real_broker && !found[1].real_broker);
        assert_eq!(
            tier_features(&found),
            ["kafka-runtime/real-broker", "reader-alpha/real-broker"]
        );
        assert_eq!(alpha.default_topic(), "collaboration_integrations_alpha");
    }

    #[test]
    fn a_flavor_table_outside_bins_or_without_a_name_is_an_error() {
        let outside = json!({
            "workspace_root": "/ws",
            "packages": [package("reader-x", "crates/reader-x", Some("x"), &[])],
        });
        let err = flavors_in(&outside).unwrap_err().to_string();
        assert!(err.contains("bins/reader-x"), "{err}");
        let mut nameless = package("reader-y", "bins/reader-y", Some("y"), &[]);
        nameless["metadata"] = json!({"case-reader": {}});
        let err = flavors_in(&json!({"workspace_root": "/ws", "packages": [nameless]}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("flavor = "), "{err}");
    }

    #[test]
    fn this_workspace_has_flavors_each_with_its_fixtures() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let found = flavors(&root).unwrap();
        assert!(
            !found.is_empty(),
            "no flavor discovered in {}",
            root.display()
        );
        for flavor in &found {
            assert!(
                flavor.fixtures(&root).join("seed.json").is_file(),
                "{} has no fixtures/{}/seed.json",
                flavor.package,
                flavor.name
            );
        }
    }
}
