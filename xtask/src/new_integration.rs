//! `cargo xtask new-integration <name>`: scaffolds a new flavor that builds and passes its
//! tests, in its own folders only (ARCHITECTURE.md (the flavor contract)): the integration crate `crates/<name>/`, the
//! thin binary `bins/reader-<name>/`, its fixtures `fixtures/<name>/` and its chart values
//! `deploy/helm/case-third-party-reader/values/flavors/<name>.yaml`. No other tracked file
//! changes (Cargo.lock aside, which cargo updates).
//!
//! The files come from `xtask/templates/integration/` (`{{name}}`, `{{Name}}`, `{{NAME}}`
//! and `{{title}}` are replaced). After writing them the command formats the new packages,
//! builds their tests (`cargo test --no-run`, which builds `reader-<name>`) and writes its
//! generated docs (the README key table and `config.example.ini`) from its `config-keys`.
//!
//! ```text
//! cargo xtask new-integration acme_desk
//! cargo test -p acme_desk -p reader-acme_desk
//! ```

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `cargo xtask new-integration <name>`.
#[derive(Debug, clap::Args)]
pub struct NewIntegrationArgs {
    /// The integration's name, snake_case (lower-case ASCII letters, digits, single inner
    /// underscores; starts with a letter; at most 20 bytes): the crate, the flavor, the
    /// `[<name>]` config section and the Kafka topic `collaboration_integrations_<name>`.
    pub name: String,
    /// The workspace to scaffold into (default: the one this xtask belongs to).
    #[arg(long)]
    pub root: Option<PathBuf>,
}

/// Where the bin README template takes its config-key table (between the markers of
/// ARCHITECTURE.md, flavor contract §3, which `cargo xtask codegen` rewrites later).
const CONFIG_KEYS: &str = "{{config_keys}}";

/// The bin README's template.
const BIN_README: &str = include_str!("../templates/integration/bin/README.md.tmpl");

/// (destination with `{{name}}` placeholders, template text).
const TEMPLATES: &[(&str, &str)] = &[
    (
        "crates/{{name}}/Cargo.toml",
        include_str!("../templates/integration/crate/Cargo.toml.tmpl"),
    ),
    (
        "crates/{{name}}/CHANGELOG.md",
        include_str!("../templates/integration/crate/CHANGELOG.md.tmpl"),
    ),
    (
        "crates/{{name}}/README.md",
        include_str!("../templates/integration/crate/README.md.tmpl"),
    ),
    (
        "crates/{{name}}/src/lib.rs",
        include_str!("../templates/integration/crate/src/lib.rs.tmpl"),
    ),
    (
        "crates/{{name}}/src/config.rs",
        include_str!("../templates/integration/crate/src/config.rs.tmpl"),
    ),
    (
        "crates/{{name}}/src/decode.rs",
        include_str!("../templates/integration/crate/src/decode.rs.tmpl"),
    ),
    (
        "crates/{{name}}/src/filter.rs",
        include_str!("../templates/integration/crate/src/filter.rs.tmpl"),
    ),
    (
        "crates/{{name}}/src/process.rs",
        include_str!("../templates/integration/crate/src/process.rs.tmpl"),
    ),
    (
        "crates/{{name}}/tests/fixtures.rs",
        include_str!("../templates/integration/crate/tests/fixtures.rs.tmpl"),
    ),
    (
        "bins/reader-{{name}}/Cargo.toml",
        include_str!("../templates/integration/bin/Cargo.toml.tmpl"),
    ),
    ("bins/reader-{{name}}/README.md", BIN_README),
    (
        "bins/reader-{{name}}/src/main.rs",
        include_str!("../templates/integration/bin/src/main.rs.tmpl"),
    ),
    (
        "bins/reader-{{name}}/tests/cli.rs",
        include_str!("../templates/integration/bin/tests/cli.rs.tmpl"),
    ),
    (
        "bins/reader-{{name}}/tests/generated_docs.rs",
        include_str!("../templates/integration/bin/tests/generated_docs.rs.tmpl"),
    ),
    (
        "fixtures/{{name}}/seed.json",
        include_str!("../templates/integration/fixtures/seed.json.tmpl"),
    ),
    (
        "fixtures/{{name}}/demo.toml",
        include_str!("../templates/integration/fixtures/demo.toml.tmpl"),
    ),
    (
        "fixtures/{{name}}/payloads/comment.json",
        include_str!("../templates/integration/fixtures/payloads/comment.json.tmpl"),
    ),
    (
        "fixtures/{{name}}/payloads/own_echo.json",
        include_str!("../templates/integration/fixtures/payloads/own_echo.json.tmpl"),
    ),
    (
        "fixtures/{{name}}/payloads/status_done.json",
        include_str!("../templates/integration/fixtures/payloads/status_done.json.tmpl"),
    ),
    (
        "deploy/helm/case-third-party-reader/values/flavors/{{name}}.yaml",
        include_str!("../templates/integration/chart/values.yaml.tmpl"),
    ),
];

/// Names a new integration may not take: Rust keywords and the built-in crates (the crate
/// name is used as a path in `use <name>::…`).
const RESERVED: &[&str] = &[
    "abstract",
    "alloc",
    "as",
    "async",
    "await",
    "become",
    "box",
    "core",
    "crate",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "proc_macro",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "std",
    "struct",
    "super",
    "test",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "union",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "yield",
];

/// The spellings of one integration name the templates use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// `acme_desk`: crate, flavor, config section, metric segment.
    pub name: String,
    /// `AcmeDesk`: type-name prefix.
    pub camel: String,
    /// `ACME_DESK`: environment-variable segment.
    pub upper: String,
    /// `Acme Desk`: prose.
    pub title: String,
}

impl Names {
    /// Checks the spelling of `name` (not whether it is free: [`check_free`]).
    pub fn new(name: &str) -> Result<Self> {
        let fix = "use lower-case ASCII letters, digits and single inner underscores, starting with a letter, at most 20 bytes (e.g. `acme_desk`)";
        let starts_with_letter = name.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        let chars_ok = name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !starts_with_letter
            || !chars_ok
            || name.len() > 20
            || name.ends_with('_')
            || name.contains("__")
        {
            bail!("`{name}` is not a valid integration name: {fix}");
        }
        if RESERVED.contains(&name) {
            bail!(
                "`{name}` is a Rust keyword or built-in crate and cannot name a crate: pick another name"
            );
        }
        let words: Vec<String> = name
            .split('_')
            .map(|w| {
                let mut chars = w.chars();
                chars
                    .next()
                    .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            })
            .collect();
        Ok(Self {
            name: name.to_owned(),
            camel: words.concat(),
            upper: name.to_ascii_uppercase(),
            title: words.join(" "),
        })
    }

    /// `text` with every placeholder replaced.
    pub fn render(&self, text: &str) -> String {
        text.replace("{{name}}", &self.name)
            .replace("{{Name}}", &self.camel)
            .replace("{{NAME}}", &self.upper)
            .replace("{{title}}", &self.title)
    }
}

/// Every file the scaffold writes for `names`: (path relative to the workspace root, text).
pub fn files(names: &Names) -> Vec<(PathBuf, String)> {
    TEMPLATES
        .iter()
        .map(|(path, text)| {
            let text = names.render(text).replace(CONFIG_KEYS, "");
            (PathBuf::from(names.render(path)), text)
        })
        .collect()
}

/// Fails, naming the clash, when `names` is already taken in the workspace at `root`: a
/// package (`<name>` or `reader-<name>`, workspace members and every package of Cargo.lock,
/// `-` and `_` alike) or one of the paths the scaffold writes.
pub fn check_free(root: &Path, names: &Names) -> Result<()> {
    let wanted = [names.name.clone(), format!("reader_{}", names.name)];
    let normalize = |n: &str| n.replace('-', "_");
    let members = xtask::members(root)?;
    if let Some(m) = members
        .iter()
        .find(|m| wanted.contains(&normalize(&m.name)))
    {
        bail!(
            "`{}` is taken: the workspace already has the package `{}` ({}); pick another name",
            names.name,
            m.name,
            m.manifest.display()
        );
    }
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    if let Some(dep) = lock
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .find(|n| wanted.contains(&normalize(n)))
    {
        bail!(
            "`{}` is taken: Cargo.lock has the package `{dep}` (a dependency of the workspace), and a crate of the same name would shadow it; pick another name",
            names.name
        );
    }
    let dirs = [
        format!("crates/{}", names.name),
        format!("bins/reader-{}", names.name),
        format!("fixtures/{}", names.name),
    ];
    let taken = dirs
        .into_iter()
        .map(PathBuf::from)
        .chain(files(names).into_iter().map(|(path, _)| path))
        .find(|p| root.join(p).exists());
    if let Some(path) = taken {
        bail!(
            "`{}` is taken: {} already exists; pick another name (or remove it)",
            names.name,
            path.display()
        );
    }
    Ok(())
}

/// Writes the new integration's files under `root` (after [`check_free`]), formats the new
/// packages, builds their tests and writes `reader-<name>`'s generated docs.
pub fn run(root: &Path, args: &NewIntegrationArgs) -> Result<()> {
    let root = args.root.as_deref().unwrap_or(root);
    let names = Names::new(&args.name)?;
    check_free(root, &names)?;
    for (path, text) in files(&names) {
        let full = root.join(&path);
        if let Some(dir) = full.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&full, text).with_context(|| format!("writing {}", full.display()))?;
        println!("new-integration: wrote {}", path.display());
    }
    let packages = [names.name.clone(), format!("reader-{}", names.name)];
    let mut fmt = Command::new(crate::cargo());
    fmt.current_dir(root).arg("fmt");
    for p in &packages {
        fmt.args(["-p", p]);
    }
    crate::run(&mut fmt).context("formatting the new packages (is rustfmt installed?)")?;
    write_generated_docs(root, &names).with_context(|| {
        format!(
            "the files of `{}` are written, but its generated docs are not: fix the error, then run `cargo xtask codegen`",
            names.name
        )
    })?;
    println!(
        "new-integration: `{name}` is ready. Next: fill in the decoder (crates/{name}/src/decode.rs) for the real Kafka contract, \
         add payloads to fixtures/{name}/payloads/ with their rows in crates/{name}/tests/fixtures.rs, \
         then `cargo test -p {name} -p reader-{name}` (ARCHITECTURE.md, \"Adding an integration\").",
        name = names.name
    );
    Ok(())
}

/// Builds the new packages' tests (and so `reader-<name>`) and writes `bins/reader-<name>/README.md`'s key table and
/// `bins/reader-<name>/config.example.ini` from its `config-keys` output.
fn write_generated_docs(root: &Path, names: &Names) -> Result<()> {
    let bin_name = format!("reader-{}", names.name);
    // The test build: it builds the binary too, and `cargo test -p <name> -p reader-<name>`
    // then has nothing left to compile.
    crate::run(Command::new(crate::cargo()).current_dir(root).args([
        "test",
        "--no-run",
        "-p",
        &names.name,
        "-p",
        &bin_name,
    ]))?;
    let meta: Value = serde_json::from_slice(&xtask::stdout_of(
        Command::new(crate::cargo()).current_dir(root).args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ]),
    )?)
    .context("cargo metadata output")?;
    let target = meta
        .get("target_directory")
        .and_then(Value::as_str)
        .context("cargo metadata names no target_directory")?;
    let bin = Path::new(target).join("debug").join(&bin_name);
    let config_keys = |format: &str| -> Result<String> {
        let out = xtask::stdout_of(Command::new(&bin).args(["config-keys", "--format", format]))?;
        String::from_utf8(out).context("config-keys printed invalid UTF-8")
    };
    let dir = root.join("bins").join(&bin_name);
    std::fs::write(dir.join("config.example.ini"), config_keys("ini")?)
        .context("writing config.example.ini")?;
    let readme = names
        .render(BIN_README)
        .replace(CONFIG_KEYS, &config_keys("markdown")?);
    std::fs::write(dir.join("README.md"), readme).context("writing README.md")?;
    println!("new-integration: wrote bins/{bin_name}/README.md's key table and config.example.ini");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_spelled_for_each_use() {
        let n = Names::new("acme_desk2").unwrap();
        assert_eq!(
            (n.camel.as_str(), n.upper.as_str(), n.title.as_str()),
            ("AcmeDesk2", "ACME_DESK2", "Acme Desk2")
        );
        assert_eq!(
            n.render("{{Name}}Config in [{{name}}]"),
            "AcmeDesk2Config in [acme_desk2]"
        );
    }

    #[test]
    fn bad_names_are_refused_with_the_rule() {
        for bad in [
            "",
            "Acme",
            "2acme",
            "acme-desk",
            "acme__desk",
            "acme_",
            "_acme",
            "a_very_long_integration_name",
            "crate",
            "std",
        ] {
            let err = Names::new(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("`{bad}`")), "{bad}: {err}");
        }
    }

    #[test]
    fn every_template_placeholder_is_replaced() {
        let names = Names::new("acme").unwrap();
        for (path, text) in files(&names) {
            assert!(
                !text.contains("{{"),
                "{}: a placeholder is left",
                path.display()
            );
            assert!(!path.to_string_lossy().contains('{'), "{}", path.display());
        }
    }
}
