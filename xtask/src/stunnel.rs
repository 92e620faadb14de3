//! Provisions stunnel, the TLS terminator of the Kafka-over-TLS tests (`testkit::tls`): a
//! stunnel already on `PATH` (or `STUNNEL_BIN`) is used as it is; otherwise Debian's
//! `stunnel4` package is installed with apt-get, which needs root (CI runs as root).

use anyhow::{Result, bail};
use std::path::PathBuf;
use std::process::Command;

/// Debian's package.
const PACKAGE: &str = "stunnel4";

/// Returns the path of a stunnel binary, installing Debian's package first when none is found.
pub fn ensure() -> Result<PathBuf> {
    if let Ok(bin) = testkit::tls::stunnel_binary() {
        return Ok(bin);
    }
    if std::env::var_os(testkit::STUNNEL_BIN_ENV).is_some() {
        // Set but wrong: say so rather than installing another one behind the user's back.
        testkit::tls::stunnel_binary()?;
    }
    let apt = Command::new("apt-get").arg("--version").output();
    if apt.is_err() {
        bail!(
            "stunnel is not installed and there is no apt-get to install it: install stunnel (5.x) \
             or set {} to its binary",
            testkit::STUNNEL_BIN_ENV
        );
    }
    eprintln!("xtask: installing {PACKAGE} (the Kafka TLS tests' terminator)");
    let install = || {
        crate::run(
            Command::new("apt-get")
                .args(["install", "-y", "-qq", "--no-install-recommends", PACKAGE])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    };
    if install().is_err() {
        // A fresh machine may have no package lists yet.
        crate::run(Command::new("apt-get").args(["update", "-qq"]))?;
        if let Err(e) = install() {
            bail!(
                "installing {PACKAGE} with apt-get failed ({e}); apt-get needs root: run \
                 `apt-get install {PACKAGE}` yourself, or set {} to a stunnel binary",
                testkit::STUNNEL_BIN_ENV
            );
        }
    }
    Ok(testkit::tls::stunnel_binary()?)
}
