//! `cargo xtask codegen`: regenerates the files derived from code, in each flavor's bin folder
//! (ARCHITECTURE.md, flavor contract §3) — the annotated example config `bins/reader-<flavor>/config.example.ini`
//! and the config-key table of `bins/reader-<flavor>/README.md` (between
//! [`README_START`] and [`README_END`]) — from the reader's own `config-keys` output (the
//! union of the config sections the libraries and the flavor's integration declare). The
//! bins' `tests/generated_docs.rs` fail when a committed file is stale.

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

/// The marker before a bin README's generated key table.
pub const README_START: &str = "<!-- config-keys:start -->";
/// The marker after it.
pub const README_END: &str = "<!-- config-keys:end -->";

/// Rewrites the generated files of every flavor.
pub fn run(root: &Path) -> Result<()> {
    let bin_dir = crate::stack::build_readers(root)?;
    for flavor in xtask::flavors(root)? {
        let bin = bin_dir.join(&flavor.bin);
        let ini_path = flavor.dir.join("config.example.ini");
        std::fs::write(&ini_path, output(&bin, "ini")?)
            .with_context(|| format!("writing {}", ini_path.display()))?;
        let readme_path = flavor.dir.join("README.md");
        let readme = std::fs::read_to_string(&readme_path).with_context(|| {
            format!(
                "reading {} (a flavor's README holds its config-key table between \
                 {README_START} and {README_END})",
                readme_path.display()
            )
        })?;
        let readme = with_table(&readme, &output(&bin, "markdown")?)
            .with_context(|| format!("updating {}", readme_path.display()))?;
        std::fs::write(&readme_path, readme)
            .with_context(|| format!("writing {}", readme_path.display()))?;
        println!(
            "codegen: wrote {} and the key table of {}",
            ini_path.display(),
            readme_path.display()
        );
    }
    Ok(())
}

/// `readme` with the text between the markers replaced by `table`.
fn with_table(readme: &str, table: &str) -> Result<String> {
    let (Some(a), Some(b)) = (readme.find(README_START), readme.find(README_END)) else {
        bail!("it lacks the markers {README_START} … {README_END}");
    };
    if b < a {
        bail!("{README_END} comes before {README_START}");
    }
    let head = readme.get(..a + README_START.len()).unwrap_or_default();
    let tail = readme.get(b..).unwrap_or_default();
    Ok(format!("{head}\n{table}{tail}"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_replaces_what_is_between_the_markers_only() {
        let readme = format!("# r\nintro\n{README_START}\nold\n{README_END}\nafter\n");
        assert_eq!(
            with_table(&readme, "| new |\n").unwrap(),
            format!("# r\nintro\n{README_START}\n| new |\n{README_END}\nafter\n")
        );
        assert!(with_table("# no markers", "x").is_err());
    }
}
