//! `cargo xtask codegen`: regenerates the files derived from code — the annotated example
//! configs `fixtures/config/reader-<flavor>.ini` and the config-key tables in README.md —
//! from the readers' own `config-keys` output (the union of the config sections the
//! libraries and the flavor's integration declare). The bins' `tests/generated_docs.rs` fail when
//! a committed file is stale.

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

/// The flavors whose binaries are documented.
pub const FLAVORS: &[&str] = &["jira", "servicenow"];

/// Markers around a flavor's key table in README.md.
pub fn readme_markers(flavor: &str) -> (String, String) {
    (
        format!("<!-- config-keys:{flavor}:start -->"),
        format!("<!-- config-keys:{flavor}:end -->"),
    )
}

/// Rewrites the generated files.
pub fn run(root: &Path) -> Result<()> {
    let bin_dir = crate::stack::build_readers(root)?;
    let readme_path = root.join("README.md");
    let mut readme = std::fs::read_to_string(&readme_path).context("reading README.md")?;
    std::fs::create_dir_all(root.join("fixtures").join("config"))?;
    for flavor in FLAVORS {
        let bin = bin_dir.join(format!("reader-{flavor}"));
        let ini = output(&bin, "ini")?;
        let ini_path = root
            .join("fixtures")
            .join("config")
            .join(format!("reader-{flavor}.ini"));
        std::fs::write(&ini_path, ini)
            .with_context(|| format!("writing {}", ini_path.display()))?;
        let table = output(&bin, "markdown")?;
        let (start, end) = readme_markers(flavor);
        let (Some(a), Some(b)) = (readme.find(&start), readme.find(&end)) else {
            bail!("README.md lacks the markers {start} … {end}");
        };
        let head = readme.get(..a + start.len()).unwrap_or_default().to_owned();
        let tail = readme.get(b..).unwrap_or_default().to_owned();
        readme = format!("{head}\n{table}{tail}");
        println!(
            "codegen: wrote {} and the README table for {flavor}",
            ini_path.display()
        );
    }
    std::fs::write(&readme_path, readme).context("writing README.md")?;
    Ok(())
}

fn output(bin: &Path, format: &str) -> Result<String> {
    let out = Command::new(bin)
        .args(["config-keys", "--format", format])
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    if !out.status.success() {
        bail!(
            "{} config-keys failed: {}",
            bin.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8(out.stdout).context("config-keys printed invalid UTF-8")
}
