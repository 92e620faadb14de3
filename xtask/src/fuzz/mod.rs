//! `cargo xtask fuzz`: coverage-guided fuzzing of the decoders and the config parser with
//! cargo-fuzz (libFuzzer) on the pinned stable toolchain.
//!
//! The projects are discovered ([`projects`]): `fuzz/` and every integration's
//! `crates/<integration>/fuzz/`, all built into `target/fuzz/build`.
//!
//! Steps: install cargo-fuzz at [`CARGO_FUZZ_VERSION`] when missing; build the targets of
//! every project (`-s none`: no sanitizer, which is what lets stable rustc build them — cargo-fuzz
//! only adds the nightly `-Zsanitizer` flag for a sanitizer); write the seed corpora from
//! `fixtures/` into `target/fuzz/seeds/` (an integration project names its seed folders in its
//! metadata); replay every file of `fixtures/fuzz/<target>/` (an integration's:
//! `fixtures/<flavor>/fuzz/<target>/`);
//! then run each target for `--runs` executions, with its growing corpus in
//! `target/fuzz/corpus/<target>/`. Any crash, hang (`--timeout`) or out-of-memory fails the
//! command and prints the reproducing input's path under `target/fuzz/artifacts/<target>/`.
//! See `fuzz/README.md`.

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// The cargo-fuzz release this project is tested with (installed with `--locked`).
pub const CARGO_FUZZ_VERSION: &str = "0.13.2";

mod projects;

use projects::{Project, Target, projects};

/// Arguments of `cargo xtask fuzz`.
#[derive(clap::Args, Debug, Clone)]
pub struct FuzzArgs {
    /// Executions per target (CI's smoke uses 20000; a real campaign 10000000 or more).
    #[arg(long, default_value_t = 20_000)]
    pub runs: u64,
    /// Only this target (repeatable); every target when absent.
    #[arg(long = "target", value_name = "NAME")]
    pub targets: Vec<String>,
    /// Parallel libFuzzer jobs per target (`-jobs`/`-workers`); the runs are split between
    /// them. 1 keeps the figures comparable on a shared 2-core machine.
    #[arg(long, default_value_t = 1)]
    pub jobs: u32,
    /// Seconds one input may take before libFuzzer reports it as a hang.
    #[arg(long, default_value_t = 10)]
    pub timeout: u32,
    /// Memory limit of the fuzzing process in MiB (also the largest single allocation).
    #[arg(long, default_value_t = 2048)]
    pub rss_limit_mb: u32,
    /// Only build the targets and replay `fixtures/fuzz/`; no fuzzing.
    #[arg(long)]
    pub replay_only: bool,
    /// Extra libFuzzer flags for every target, after `--` (e.g. `-- -max_len=65536`).
    #[arg(last = true)]
    pub libfuzzer_args: Vec<String>,
}

/// What one target's run measured (from libFuzzer's final stats and last status line).
#[derive(Debug, Default, Clone)]
struct RunStats {
    target: String,
    executions: u64,
    elapsed: Duration,
    corpus_files: u64,
    corpus_bytes: String,
    cov: u64,
    ft: u64,
    peak_rss_mb: u64,
}

/// Runs `cargo xtask fuzz` from the workspace `root`.
pub fn run(root: &Path, args: &FuzzArgs) -> Result<()> {
    let projects = projects(root)?;
    let all: Vec<Target> = projects.iter().flat_map(|p| p.targets.clone()).collect();
    let targets = selected_targets(args, all)?;
    if args.jobs == 0 {
        bail!("--jobs must be at least 1");
    }
    ensure_cargo_fuzz(root)?;
    let work = root.join("target").join("fuzz");
    let build_dir = work.join("build");
    let triple = host_triple(root)?;
    let seeds = work.join("seeds");
    for project in &projects {
        let chosen: Vec<&Target> = project
            .targets
            .iter()
            .filter(|t| targets.contains(t))
            .collect();
        if chosen.is_empty() {
            continue;
        }
        build_targets(root, &build_dir, &triple, project, &chosen)?;
        if project.shared {
            write_seeds(root, &project.dir, &build_dir, &seeds)?;
        }
    }

    let bin_dir = build_dir.join(&triple).join("release");
    for target in &targets {
        replay_regressions(root, &bin_dir, target, args)?;
    }
    if args.replay_only {
        eprintln!("xtask: replay only: every regression input passed");
        return Ok(());
    }
    let mut all = Vec::new();
    for target in &targets {
        all.push(fuzz_target(&bin_dir, &work, &seeds, target, args)?);
    }
    print_summary(args, &all);
    Ok(())
}

fn selected_targets(args: &FuzzArgs, all: Vec<Target>) -> Result<Vec<Target>> {
    if args.targets.is_empty() {
        return Ok(all);
    }
    args.targets
        .iter()
        .map(|name| {
            all.iter()
                .find(|t| &t.name == name)
                .cloned()
                .with_context(|| {
                    let names: Vec<&str> = all.iter().map(|t| t.name.as_str()).collect();
                    format!(
                        "unknown fuzz target `{name}`; the targets are: {}",
                        names.join(", ")
                    )
                })
        })
        .collect()
}

/// Installs cargo-fuzz at [`CARGO_FUZZ_VERSION`] unless that version is already installed.
fn ensure_cargo_fuzz(root: &Path) -> Result<()> {
    let installed = Command::new(crate::cargo())
        .current_dir(root)
        .args(["fuzz", "--version"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    match installed {
        Some(v) if v.split_whitespace().nth(1) == Some(CARGO_FUZZ_VERSION) => Ok(()),
        other => {
            eprintln!(
                "xtask: cargo-fuzz {CARGO_FUZZ_VERSION} not installed (found: {}); installing it \
                 (a few minutes)",
                other.as_deref().unwrap_or("none")
            );
            crate::run(Command::new(crate::cargo()).current_dir(root).args([
                "install",
                "--locked",
                "cargo-fuzz",
                "--version",
                CARGO_FUZZ_VERSION,
            ]))
            .context("installing cargo-fuzz failed; check access to crates.io")
        }
    }
}

/// The host target triple of the pinned toolchain (the fuzz binaries land under it).
fn host_triple(root: &Path) -> Result<String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let out = Command::new(&rustc)
        .current_dir(root)
        .arg("-vV")
        .output()
        .with_context(|| format!("could not run `{rustc} -vV`"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(|h| h.trim().to_owned())
        .with_context(|| format!("`{rustc} -vV` printed no `host:` line"))
}

/// Builds the `targets` of `project` (the shared project without its `config` feature
/// unless a chosen target needs it).
fn build_targets(
    root: &Path,
    build_dir: &Path,
    triple: &str,
    project: &Project,
    targets: &[&Target],
) -> Result<()> {
    let mut cmd = Command::new(crate::cargo());
    cmd.current_dir(root)
        .args(["fuzz", "build", "--sanitizer", "none", "--release"])
        .arg("--fuzz-dir")
        .arg(&project.dir)
        .arg("--target-dir")
        .arg(build_dir)
        .arg("--target")
        .arg(triple);
    if project.shared && !targets.iter().any(|t| t.needs_config) {
        cmd.arg("--no-default-features");
    }
    if let [one] = targets {
        cmd.arg(&one.name);
    }
    crate::run(&mut cmd).context(
        "building the fuzz targets failed; they need a C++ compiler for libFuzzer \
         (Debian: apt-get install g++) and the crates under test must compile",
    )
}

/// Runs the seed tool (a normal build: it needs neither libFuzzer instrumentation nor
/// reader-app, so `--no-default-features`).
fn write_seeds(root: &Path, fuzz_dir: &Path, build_dir: &Path, seeds: &Path) -> Result<()> {
    let mut cmd = Command::new(crate::cargo());
    cmd.current_dir(root)
        .args(["run", "--quiet", "--manifest-path"])
        .arg(fuzz_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(build_dir)
        .args([
            "--bin",
            "seed-corpus",
            "--no-default-features",
            "--features",
            "seed-tool",
        ])
        .arg("--")
        .arg(root.join("fixtures"))
        .arg(seeds);
    crate::run(&mut cmd).context("writing the seed corpora from fixtures/ failed")
}

/// Every regular file of `dir`, sorted; none when `dir` does not exist.
fn files_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("reading {}", dir.display()))?
            .path();
        if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Runs the target once on every file of its regression folder.
fn replay_regressions(root: &Path, bin_dir: &Path, target: &Target, args: &FuzzArgs) -> Result<()> {
    let dir = &target.regressions;
    let target = target.name.as_str();
    let files = files_in(dir)?;
    if files.is_empty() {
        eprintln!("xtask: {target}: no regression inputs in {}", dir.display());
        return Ok(());
    }
    let out = Command::new(bin_dir.join(target))
        .current_dir(root)
        .arg(format!("-timeout={}", args.timeout))
        .arg(format!("-rss_limit_mb={}", args.rss_limit_mb))
        .args(&files)
        .output()
        .with_context(|| format!("could not start the {target} fuzz binary"))?;
    if !out.status.success() {
        std::io::stderr().write_all(&out.stderr).ok();
        bail!(
            "{target}: a regression input of {} fails again (see the output above); fix the \
             code, not the input",
            dir.display()
        );
    }
    eprintln!(
        "xtask: {target}: {} regression inputs of {} pass",
        files.len(),
        dir.display()
    );
    Ok(())
}

fn fuzz_target(
    bin_dir: &Path,
    work: &Path,
    seeds: &Path,
    spec: &Target,
    args: &FuzzArgs,
) -> Result<RunStats> {
    let target = spec.name.as_str();
    let corpus = work.join("corpus").join(target);
    let artifacts = work.join("artifacts").join(target);
    let logs = work.join("logs").join(target);
    for dir in [&corpus, &artifacts, &logs] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut prefix = artifacts.clone().into_os_string();
    prefix.push("/");
    let mut cmd = Command::new(bin_dir.join(target));
    cmd.current_dir(&logs)
        .arg(&corpus)
        .arg(format!("-timeout={}", args.timeout))
        .arg(format!("-rss_limit_mb={}", args.rss_limit_mb))
        .arg("-print_final_stats=1")
        .arg({
            let mut a = std::ffi::OsString::from("-artifact_prefix=");
            a.push(&prefix);
            a
        });
    if args.jobs > 1 {
        let per_job = args.runs.div_ceil(u64::from(args.jobs));
        cmd.arg(format!("-runs={per_job}"))
            .arg(format!("-jobs={}", args.jobs))
            .arg(format!("-workers={}", args.jobs));
    } else {
        cmd.arg(format!("-runs={}", args.runs));
    }
    cmd.args(&args.libfuzzer_args);
    // Read-only corpus directories after the first: seeds and regression inputs.
    let extras = std::iter::once(seeds.join(target))
        .chain(spec.seed_dirs.iter().cloned())
        .chain(std::iter::once(spec.regressions.clone()));
    for extra in extras {
        if extra.is_dir() {
            cmd.arg(extra);
        }
    }
    eprintln!("xtask: fuzzing {target}: {cmd:?}");
    let started = SystemTime::now();
    let clock = Instant::now();
    let log_path = logs.join("run.log");
    let status = run_logged(&mut cmd, &log_path)?;
    let elapsed = clock.elapsed();
    let mut log = std::fs::read_to_string(&log_path).unwrap_or_default();
    if args.jobs > 1 {
        for job_log in files_in(&logs)? {
            let name = job_log
                .file_name()
                .map(|n| n.to_string_lossy().into_owned());
            if name.is_some_and(|n| n.starts_with("fuzz-") && n.ends_with(".log")) {
                log.push_str(&std::fs::read_to_string(&job_log).unwrap_or_default());
            }
        }
    }
    if !status.success() {
        let new: Vec<PathBuf> = files_in(&artifacts)?
            .into_iter()
            .filter(|p| {
                p.metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t >= started)
            })
            .collect();
        for artifact in &new {
            eprintln!("xtask: {target}: failing input: {}", artifact.display());
        }
        bail!(
            "{target}: libFuzzer stopped with {status} (crash, hang or out-of-memory; the panic \
             message is above, the whole log in {}). Reproduce with `{} <input>`; make the input a \
             regression fixture in {}/ (see fuzz/README.md)",
            log_path.display(),
            bin_dir.join(target).display(),
            spec.regressions.display()
        );
    }
    Ok(parse_stats(target, &log, elapsed, &corpus))
}

/// Runs `cmd`, copying its stderr into `log` and echoing the lines worth reading live (not
/// libFuzzer's per-input `NEW`/`REDUCE`/`NEW_FUNC` lines nor its dictionary dump).
fn run_logged(cmd: &mut Command, log: &Path) -> Result<std::process::ExitStatus> {
    let mut file =
        std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let mut child = cmd
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start {:?}", cmd.get_program()))?;
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).split(b'\n') {
            let line = line.context("reading the fuzzer's output")?;
            file.write_all(&line)
                .and_then(|()| file.write_all(b"\n"))
                .with_context(|| format!("writing {}", log.display()))?;
            let text = String::from_utf8_lossy(&line);
            let noisy = (text.starts_with('#')
                && (text.contains("\tNEW ") || text.contains("\tREDUCE ")))
                || text.contains("# Uses: ")
                || text.trim_start().starts_with("NEW_FUNC[");
            if !noisy {
                eprintln!("{text}");
            }
        }
    }
    child.wait().context("waiting for the fuzzer")
}

/// Figures from libFuzzer's output: `stat::` lines (`-print_final_stats=1`) and the last
/// status line (`#N DONE cov: C ft: F corp: K/SIZE …`).
fn parse_stats(target: &str, log: &str, elapsed: Duration, corpus: &Path) -> RunStats {
    let mut stats = RunStats {
        target: target.to_owned(),
        elapsed,
        ..RunStats::default()
    };
    for line in log.lines() {
        let line = line.trim();
        if let Some(v) = line.strip_prefix("stat::number_of_executed_units:") {
            stats.executions += v.trim().parse::<u64>().unwrap_or(0);
        } else if let Some(v) = line.strip_prefix("stat::peak_rss_mb:") {
            stats.peak_rss_mb = stats.peak_rss_mb.max(v.trim().parse().unwrap_or(0));
        } else if line.starts_with('#') && (line.contains(" DONE ") || line.contains("\tDONE ")) {
            let mut words = line.split_whitespace();
            while let Some(word) = words.next() {
                match word {
                    "cov:" => stats.cov = stats.cov.max(number(words.next())),
                    "ft:" => stats.ft = stats.ft.max(number(words.next())),
                    "corp:" => {
                        if let Some((n, size)) = words.next().and_then(|c| c.split_once('/')) {
                            stats.corpus_files = n.parse().unwrap_or(0);
                            size.clone_into(&mut stats.corpus_bytes);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    // Without a DONE line (e.g. jobs that did not print one) count the corpus directory.
    if stats.corpus_files == 0
        && let Ok(files) = files_in(corpus)
    {
        stats.corpus_files = files.len() as u64;
    }
    stats
}

fn number(word: Option<&str>) -> u64 {
    word.and_then(|w| w.parse().ok()).unwrap_or(0)
}

fn print_summary(args: &FuzzArgs, all: &[RunStats]) {
    println!(
        "\nFuzzing summary (`cargo xtask fuzz --runs {} --jobs {}`):\n",
        args.runs, args.jobs
    );
    println!(
        "| target | executions | time (s) | exec/s | corpus (files/size) | cov | ft | peak RSS (MiB) | crashes |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for s in all {
        let secs = s.elapsed.as_secs_f64();
        #[allow(clippy::cast_precision_loss)]
        let per_sec = if secs > 0.0 {
            s.executions as f64 / secs
        } else {
            0.0
        };
        println!(
            "| `{}` | {} | {:.0} | {:.0} | {}/{} | {} | {} | {} | 0 |",
            s.target,
            s.executions,
            secs,
            per_sec,
            s.corpus_files,
            s.corpus_bytes,
            s.cov,
            s.ft,
            s.peak_rss_mb
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_come_from_the_done_line_and_final_stats() {
        let log = "#2\tINITED cov: 774 ft: 775 corp: 1/1b exec/s: 0 rss: 28Mb\n\
                   #1048576\tpulse  cov: 900 ft: 1000 corp: 10/100b lim: 4 exec/s: 9 rss: 30Mb\n\
                   #10000000\tDONE   cov: 1649 ft: 2596 corp: 35/177Kb lim: 4096 exec/s: 16000 rss: 229Mb\n\
                   Done 10000000 runs in 625 second(s)\n\
                   stat::number_of_executed_units: 10000000\n\
                   stat::average_exec_per_sec:     16000\n\
                   stat::peak_rss_mb:              229\n";
        let s = parse_stats(
            "t",
            log,
            Duration::from_secs(625),
            Path::new("/nonexistent"),
        );
        assert_eq!(s.executions, 10_000_000);
        assert_eq!((s.cov, s.ft), (1649, 2596));
        assert_eq!((s.corpus_files, s.corpus_bytes.as_str()), (35, "177Kb"));
        assert_eq!(s.peak_rss_mb, 229);
    }

    #[test]
    fn unknown_target_names_the_known_ones() {
        let args = FuzzArgs {
            runs: 1,
            targets: vec!["nope".into()],
            jobs: 1,
            timeout: 1,
            rss_limit_mb: 1,
            replay_only: false,
            libfuzzer_args: vec![],
        };
        let all = shared_targets();
        let err = selected_targets(&args, all).unwrap_err().to_string();
        assert!(err.contains("jira_decode") && err.contains("nope"), "{err}");
    }

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn shared_targets() -> Vec<Target> {
        let found = projects(&root()).unwrap();
        assert!(found[0].shared, "{found:?}");
        found[0].targets.clone()
    }

    #[test]
    fn the_targets_are_the_fuzz_binaries_of_the_manifest() {
        let all = shared_targets();
        let names: Vec<&str> = all.iter().map(|t| t.name.as_str()).collect();
        assert!(names.len() >= 6, "{names:?}");
        assert!(
            !names.contains(&"seed-corpus"),
            "a tool, not a target: {names:?}"
        );
        for t in &all {
            let source = root()
                .join("fuzz/fuzz_targets")
                .join(format!("{}.rs", t.name));
            assert!(source.is_file(), "{} has no {}", t.name, source.display());
        }
        assert!(
            all.iter()
                .all(|t| t.needs_config == (t.name == "config_ini")),
            "only the config parser needs reader-app: {all:?}"
        );
        assert!(names.contains(&"config_ini"), "{names:?}");
    }
}
