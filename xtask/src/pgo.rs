//! `cargo xtask pgo`: a profile-guided build of the reader binaries (every discovered flavor,
//! or `--flavors`), with the benchmark workload as the profile.
//!
//! 1. Build every flavor's reader instrumented (`-Cprofile-generate`) into `target/pgo/instrumented`
//!    (a target directory of its own: the RUSTFLAGS change would rebuild `target/release`).
//! 2. Run `cargo xtask bench` against those binaries with a workload sized for profiling
//!    (filter path, apply path and paced latency run; no 1M backlog): every reader process
//!    writes `target/pgo/profraw/*.profraw` when it exits.
//! 3. Merge them with `llvm-profdata` of rustc's own LLVM (`rustup component add
//!    llvm-tools`, or Debian's `llvm-22` for Rust 1.95) into `target/pgo/merged.profdata`.
//! 4. Build the release binaries with the profile through `deploy/build-binary.sh
//!    --profile-use` (the image's build step), so the result is what the image would ship.
//!
//! The bench drives mostly Jira events; another flavor is profiled by its generic filter-path
//! run when it has `fixtures/<flavor>/bench.toml` (`bench/flavor.rs`), else it only gets the
//! profile of the code every flavor shares (runtime, pipeline, Case API client) and LLVM
//! warns about its decoder and filters as functions without profile data.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `cargo xtask pgo` arguments.
#[derive(clap::Args, Debug)]
pub struct PgoArgs {
    /// Flavors to build with the profile (comma-separated); every discovered flavor when
    /// absent.
    #[arg(long, value_delimiter = ',')]
    pub flavors: Vec<String>,
    /// Events of the profiling bench's raw/filter runs (the other runs scale from it).
    #[arg(long, default_value_t = 50_000)]
    pub events: u64,
    /// Stop after merging the profile (skip the optimized build).
    #[arg(long)]
    pub profile_only: bool,
}

/// Runs the PGO pipeline; prints the optimized binaries' paths.
pub fn run(root: &Path, args: &PgoArgs) -> Result<()> {
    let discovered = xtask::flavors(root)?;
    let known = crate::flavor_names(&discovered);
    for flavor in &args.flavors {
        if !known.contains(&flavor.as_str()) {
            bail!(
                "unknown flavor `{flavor}` in --flavors: the flavors are {}",
                known.join(", ")
            );
        }
    }
    let selected: Vec<String> = if args.flavors.is_empty() {
        known.iter().map(|f| (*f).to_owned()).collect()
    } else {
        args.flavors.clone()
    };
    let profdata_tool = llvm_profdata()?;
    let pgo_dir = root.join("target").join("pgo");
    let raw_dir = pgo_dir.join("profraw");
    let instrumented = pgo_dir.join("instrumented");
    // Old profiles would mix an earlier build's counters into this one.
    if raw_dir.exists() {
        std::fs::remove_dir_all(&raw_dir)
            .with_context(|| format!("removing the old profiles in {}", raw_dir.display()))?;
    }
    std::fs::create_dir_all(&raw_dir).with_context(|| format!("creating {}", raw_dir.display()))?;

    eprintln!(
        "xtask pgo: 1/4 instrumented release build into {}",
        instrumented.display()
    );
    let mut build = Command::new(crate::cargo());
    build
        .current_dir(root)
        .env(
            "RUSTFLAGS",
            format!("-Cprofile-generate={}", raw_dir.display()),
        )
        .args(["build", "--release", "--locked", "--quiet"]);
    for flavor in &discovered {
        build.args(["-p", &flavor.package]);
    }
    build.arg("--target-dir").arg(&instrumented);
    crate::run(&mut build).context("building the instrumented readers")?;
    let bin_dir = instrumented.join("release");

    eprintln!("xtask pgo: 2/4 the bench workload on the instrumented readers");
    let events = args.events.max(1_000);
    let mut bench = Command::new(std::env::current_exe().context("locating the xtask binary")?);
    bench
        .current_dir(root)
        .arg("bench")
        .arg("--reader-bin-dir")
        .arg(&bin_dir)
        .args(["--events", &events.to_string()])
        .args(["--apply-events", &(events / 5).to_string()])
        .args(["--sequential-events", &(events / 50).max(200).to_string()])
        .args(["--latency-secs", "10", "--backlog", "0"])
        // The figures of an instrumented binary are meaningless: keep them apart.
        .arg("--out-dir")
        .arg(pgo_dir.join("bench-instrumented"));
    crate::run(&mut bench).context("running the profiling workload (cargo xtask bench)")?;

    let profiles = std::fs::read_dir(&raw_dir)
        .with_context(|| format!("listing {}", raw_dir.display()))?
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().extension().is_some_and(|e| e == "profraw"))
        .count();
    if profiles == 0 {
        bail!(
            "the workload wrote no .profraw file into {}: the readers must exit normally \
             (SIGTERM) for their counters to be written",
            raw_dir.display()
        );
    }

    let merged = pgo_dir.join("merged.profdata");
    eprintln!(
        "xtask pgo: 3/4 merging {profiles} profiles into {}",
        merged.display()
    );
    let mut merge = Command::new(&profdata_tool);
    merge.arg("merge").arg("-o").arg(&merged).arg(&raw_dir);
    crate::run(&mut merge).context("merging the profiles with llvm-profdata")?;
    if args.profile_only {
        println!("{}", merged.display());
        return Ok(());
    }

    eprintln!("xtask pgo: 4/4 optimized build with the profile (deploy/build-binary.sh)");
    for flavor in &selected {
        let out = pgo_dir.join("bin");
        let mut build = Command::new("bash");
        build
            .current_dir(root)
            .arg(root.join("deploy").join("build-binary.sh"))
            .arg(flavor)
            .arg("--profile-use")
            .arg(&merged)
            .arg("--out")
            .arg(&out);
        crate::run(&mut build).with_context(|| format!("building reader-{flavor} with PGO"))?;
        println!("{}", out.join(format!("reader-{flavor}")).display());
    }
    Ok(())
}

/// `llvm-profdata` of the LLVM rustc was built with: the `llvm-tools` component first, then
/// an `llvm-profdata-<major>` on PATH with the same major version.
fn llvm_profdata() -> Result<PathBuf> {
    let output = Command::new("rustc")
        .arg("-vV")
        .output()
        .context("running rustc -vV")?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
    };
    let host = field("host:").context("rustc -vV printed no host")?;
    let llvm = field("LLVM version:").context("rustc -vV printed no LLVM version")?;
    let major = llvm.split('.').next().unwrap_or_default().to_owned();

    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .context("running rustc --print sysroot")?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    let component = sysroot
        .join("lib")
        .join("rustlib")
        .join(&host)
        .join("bin")
        .join("llvm-profdata");
    if component.is_file() {
        return Ok(component);
    }
    let versioned = format!("llvm-profdata-{major}");
    if Command::new(&versioned)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Ok(PathBuf::from(versioned));
    }
    bail!(
        "no llvm-profdata for rustc's LLVM {llvm}: run `rustup component add llvm-tools` \
         (or install Debian's llvm-{major} for {versioned})"
    )
}
