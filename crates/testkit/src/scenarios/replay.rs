//! `replay --dry-run` of a flavor's raw inputs (webhook bodies, records) against the case
//! sandbox, without a broker: the set-up (sandbox, input files, arguments) both reader
//! binaries share, and the checks on what the replay prints and applies.

use super::cli::{assert_decisions, assert_table_matches, decisions, run_cli};
use super::store::assert_nothing_applied;
use crate::fixtures::fixtures_dir;
use crate::reader::args;
use crate::sandbox::Sandbox;
use std::error::Error;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// A flavor's raw input files: `(file name, contents)` in order.
pub type RawInputFiles = Vec<(&'static str, Vec<u8>)>;

/// Builds a flavor's raw input files.
pub type RawInputs = fn() -> Result<RawInputFiles, Box<dyn Error>>;

/// A reader binary and what it takes to replay its flavor's raw inputs: the binary, the
/// flavor (the sandbox is seeded with `fixtures/<flavor>/seed.json`), the org and the
/// flavor's own source flag (the Jira site id, the ServiceNow instance).
pub struct RawReplay {
    /// The binary's path (`env!("CARGO_BIN_EXE_…")`).
    pub bin: &'static str,
    /// `jira` or `servicenow`.
    pub flavor: &'static str,
    /// The `--org-id` value.
    pub org_id: &'static str,
    /// The flag naming the source: `--jira-account-id`, `--instance-name`.
    pub source_flag: &'static str,
    /// The raw input files.
    pub inputs: RawInputs,
}

/// A seeded sandbox and the raw input files written to a temporary folder.
struct Replayed {
    sandbox: Sandbox,
    files: Vec<PathBuf>,
    _dir: TempDir,
}

impl RawReplay {
    /// Writes the raw inputs into `dir`, returning their paths in order.
    fn write_inputs(&self, dir: &Path) -> Vec<PathBuf> {
        let inputs = (self.inputs)().unwrap_or_else(|e| panic!("raw {} inputs: {e}", self.flavor));
        inputs
            .into_iter()
            .map(|(name, bytes)| {
                let path = dir.join(name);
                std::fs::write(&path, bytes).unwrap();
                path
            })
            .collect()
    }

    async fn start(&self) -> Replayed {
        let seed = fixtures_dir().join(self.flavor).join("seed.json");
        let sandbox = Sandbox::start(&seed).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let files = self.write_inputs(dir.path());
        Replayed {
            sandbox,
            files,
            _dir: dir,
        }
    }

    /// `replay --dry-run [--output json] --file F… --org-id ORG <source flag> SOURCE --set
    /// case_api.endpoint=ENDPOINT`.
    pub fn args(&self, files: &[PathBuf], source: &str, endpoint: &str, json: bool) -> Vec<String> {
        let mut a = args(&["replay", "--dry-run"]);
        if json {
            a.extend(args(&["--output", "json"]));
        }
        for f in files {
            a.push("--file".into());
            a.push(f.display().to_string());
        }
        a.extend(args(&[
            "--org-id",
            self.org_id,
            self.source_flag,
            source,
            "--set",
        ]));
        a.push(format!("case_api.endpoint={endpoint}"));
        a
    }

    /// The replay of every raw input for `source`, as JSON, exits 0 even when some inputs
    /// do not decode and prints exactly the `expected` decisions (source suffix, changelog
    /// type, decision, detail fragment); the same replay as a table shows the same
    /// decisions; nothing reaches the Case API.
    pub async fn prints_decisions_and_applies_nothing(
        &self,
        source: &str,
        expected: &[(&str, &str, &str, &str)],
    ) {
        let run = self.start().await;
        let url = &run.sandbox.url;
        let out = run_cli(self.bin, &self.args(&run.files, source, url, true), &[]).await;
        assert_eq!(
            out.code,
            Some(0),
            "decode errors never fail a replay: {out:?}"
        );
        let got = decisions(&out.stdout);
        assert_decisions(&got, expected);

        let out = run_cli(self.bin, &self.args(&run.files, source, url, false), &[]).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        assert_table_matches(&out.stdout, &got);
        assert_nothing_applied(&run.sandbox);
    }

    /// The replay of the first `inputs` raw inputs for a `source` the seed does not
    /// configure, as JSON, exits 0 and prints exactly the `expected` decisions; nothing
    /// reaches the Case API.
    pub async fn for_an_unknown_source_prints(
        &self,
        source: &str,
        inputs: usize,
        expected: &[(&str, &str, &str, &str)],
    ) {
        let run = self.start().await;
        let files = run.files.get(..inputs).unwrap();
        let out = run_cli(
            self.bin,
            &self.args(files, source, &run.sandbox.url, true),
            &[],
        )
        .await;
        assert_eq!(out.code, Some(0), "{out:?}");
        assert_decisions(&decisions(&out.stdout), expected);
        assert_nothing_applied(&run.sandbox);
    }

    /// `replay --dry-run --file FILE --org-id ORG` without the flavor's source flag is a
    /// usage error: exit 2 naming `--org-id`, nothing on stdout.
    pub async fn without_the_source_flag_is_a_usage_error(&self) {
        let dir = tempfile::tempdir().unwrap();
        let files = self.write_inputs(dir.path());
        let out = run_cli(
            self.bin,
            &args(&[
                "replay",
                "--dry-run",
                "--file",
                &files[0].display().to_string(),
                "--org-id",
                self.org_id,
                "--set",
                "case_api.endpoint=http://127.0.0.1:9",
            ]),
            &[],
        )
        .await;
        assert_eq!(out.code, Some(2), "{out:?}");
        assert!(out.stderr.contains("--org-id"), "{}", out.stderr);
        assert!(out.stdout.is_empty(), "{}", out.stdout);
    }
}
