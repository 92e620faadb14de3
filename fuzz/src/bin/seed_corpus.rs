//! `seed-corpus FIXTURES_DIR OUT_DIR`: writes the seed inputs of every fuzz target into
//! `OUT_DIR/<target>/`, from the repository's fixtures and from the config key table.
//!
//! - `jira_decode`: every file of `fixtures/jira/payloads/`, byte for byte.
//! - `servicenow_decode`: every step's `payload` (serialized) or `payload_text` of
//!   `fixtures/servicenow/events/*.json`.
//! - `jira_markup`: comment bodies and changelog strings of the Jira payloads, plus wiki
//!   snippets written here.
//! - `config_ini`: every `bins/*/config.example.ini` as it is and with every key uncommented, plus
//!   hand-written configs and a skip list.
//! - The `*_structured` targets read their bytes through `arbitrary`: fixture files mean
//!   nothing to them, they start from an empty corpus.
//!
//! Built only with `--features seed-tool` (and `--no-default-features`: it needs neither
//! reader-app nor the code under test); run by `cargo xtask fuzz`.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [fixtures, out] = args.as_slice() else {
        eprintln!("usage: seed-corpus FIXTURES_DIR OUT_DIR");
        return ExitCode::from(2);
    };
    match run(Path::new(fixtures), Path::new(out)) {
        Ok(counts) => {
            for (target, n) in counts {
                println!("{target}: {n} seed inputs");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("seed-corpus: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Collected seeds of one target.
struct Seeds {
    target: &'static str,
    inputs: Vec<(String, Vec<u8>)>,
}

impl Seeds {
    fn new(target: &'static str) -> Self {
        Self {
            target,
            inputs: Vec::new(),
        }
    }

    fn add(&mut self, name: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.inputs.push((name.into(), bytes.into()));
    }

    fn write(&self, out: &Path) -> Result<usize, String> {
        let dir = out.join(self.target);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .map_err(|e| format!("clearing {}: {e}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        for (name, bytes) in &self.inputs {
            let file: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let path = dir.join(file);
            std::fs::write(&path, bytes).map_err(|e| format!("writing {}: {e}", path.display()))?;
        }
        Ok(self.inputs.len())
    }
}

fn run(fixtures: &Path, out: &Path) -> Result<Vec<(&'static str, usize)>, String> {
    let mut jira = Seeds::new("jira_decode");
    let mut markup = Seeds::new("jira_markup");
    for (name, bytes) in files(&fixtures.join("jira").join("payloads"), None)? {
        if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
            for (i, text) in free_text(&value).into_iter().enumerate() {
                markup.add(format!("{name}.{i}"), text);
            }
        }
        jira.add(name, bytes);
    }
    for (i, snippet) in WIKI_SNIPPETS.iter().enumerate() {
        markup.add(format!("snippet-{i}"), *snippet);
    }
    if jira.inputs.is_empty() {
        return Err(format!(
            "no Jira payloads under {}; run from the repository root",
            fixtures.display()
        ));
    }

    let mut servicenow = Seeds::new("servicenow_decode");
    for (name, bytes) in files(&fixtures.join("servicenow").join("events"), Some("json"))? {
        let scenario: Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("fixtures/servicenow/events/{name} is not JSON: {e}"))?;
        let steps = scenario.get("steps").and_then(Value::as_array);
        for (i, step) in steps.into_iter().flatten().enumerate() {
            let value = match (step.get("payload"), step.get("payload_text")) {
                (_, Some(Value::String(text))) => text.clone().into_bytes(),
                (Some(payload), _) => serde_json::to_vec(payload)
                    .map_err(|e| format!("re-serializing {name} step {i}: {e}"))?,
                _ => continue,
            };
            servicenow.add(format!("{name}.{i}"), value);
        }
    }
    if servicenow.inputs.is_empty() {
        return Err(format!(
            "no ServiceNow payloads under {}",
            fixtures.join("servicenow").join("events").display()
        ));
    }

    let mut counts = Vec::new();
    for seeds in [&jira, &markup, &servicenow] {
        counts.push((seeds.target, seeds.write(out)?));
    }
    let config = config_seeds(fixtures)?;
    counts.push((config.target, config.write(out)?));
    Ok(counts)
}

/// Seeds of `config_ini`: each `bins/<reader>/config.example.ini` next to `fixtures` (the
/// example configs `cargo xtask codegen` writes from the key table, every key commented out
/// at its default; the seed is named `<reader>.ini`) as it is and
/// with every key uncommented, plus hand-written configs and a skip list. Plain text work, so
/// the tool needs no reader-app (which would add minutes of build for the whole service
/// shell).
fn config_seeds(fixtures: &Path) -> Result<Seeds, String> {
    let mut config = Seeds::new("config_ini");
    let bins = fixtures.join("..").join("bins");
    let mut readers: Vec<PathBuf> = std::fs::read_dir(&bins)
        .map_err(|e| format!("listing {}: {e}", bins.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|dir| dir.join("config.example.ini").is_file())
        .collect();
    readers.sort();
    for dir in readers {
        let path = dir.join("config.example.ini");
        let bytes = std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        let reader = dir.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = format!("{}.ini", reader.unwrap_or_default());
        let text = String::from_utf8_lossy(&bytes);
        config.add(format!("{name}.all-keys"), uncomment_keys(&text));
        config.add(name, bytes);
    }
    config.add(
        "minimal.ini",
        "[kafka]\nbrokers = localhost:9092\n[case_api]\nendpoint = http://localhost:50051\n",
    );
    config.add(
        "overrides.ini",
        "[kafka]\nbrokers = b1:9092,b2:9092\nmax_in_flight = 8\nauto_offset_reset = earliest\n\
         [dd.kafka.consumer]\nskip_messages = jira:0:12, jira:3:4 other:1:2\n\
         [kafka.librdkafka]\nsecurity.protocol = ssl\nsasl.password = pw\n\
         [case_api]\nendpoint = https://case-api:443\ndeadline_ms = \"250\"\n\
         [metrics]\nstatsd_address = 127.0.0.1:8125\nprometheus = yes\n\
         [fuzz]\ncount = 10\nwait_ms = 1000\nperiod_s = \" 60\"\nswitch = on\n\
         address = [::1]:80\nmode = b\nskip = t:1:2 t:1:2, u:0:0\nsecret = \"hunter2\"\n",
    );
    config.add(
        "skip-list.txt",
        "collaboration_integrations_jira:3:1024, jira:0:7,  ,a:b:1:2 x:-1:0 t/1/2",
    );

    Ok(config)
}

/// The ini text with every commented-out key (`;key = value`) set.
fn uncomment_keys(text: &str) -> String {
    text.lines()
        .map(|line| match line.strip_prefix(';') {
            Some(rest) if rest.contains(" =") && !rest.starts_with(' ') => rest,
            _ => line,
        })
        .fold(String::new(), |mut out, line| {
            out.push_str(line);
            out.push('\n');
            out
        })
}

/// Every file of `dir` (sorted), optionally only those with extension `ext`. A missing
/// directory has no files.
fn files(dir: &Path, ext: Option<&str>) -> Result<Vec<(String, Vec<u8>)>, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| ext.is_none_or(|ext| p.extension().is_some_and(|e| e == ext)))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            std::fs::read(&p)
                .map(|bytes| (name, bytes))
                .map_err(|e| format!("reading {}: {e}", p.display()))
        })
        .collect()
}

/// The comment body and the changelog strings of a Jira envelope.
fn free_text(value: &Value) -> Vec<String> {
    let webhook = value.get("webhook");
    let mut out: Vec<String> = webhook
        .and_then(|w| w.pointer("/comment/body"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .into_iter()
        .collect();
    let items = webhook
        .and_then(|w| w.pointer("/changelog/items"))
        .and_then(Value::as_array);
    for item in items.into_iter().flatten() {
        for key in ["fromString", "toString"] {
            if let Some(s) = item
                .get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                out.push(s.to_owned());
            }
        }
    }
    out
}

/// Jira wiki markup covering the converter's constructs.
const WIKI_SNIPPETS: &[&str] = &[
    "h1. Title\nh2. Sub\nh6. Small",
    "*bold* _italic_ -strike- +under+ ^sup^ ~sub~ ??cite?? {{mono}}",
    "* one\n** two\n# first\n## second\n#* mixed",
    "||head||head||\n|cell|cell|\n|[link|https://example.com]|!img.png|thumbnail!|",
    "{code:java}\nclass A {}\n{code}\n{noformat}\n*not bold*\n{noformat}",
    "{quote}quoted *text*{quote}\nbq. block quote",
    "{color:#ff0000}red{color} {panel:title=T}inside{panel}",
    "[~accountid:5b10a2844c20165700ede21g] [~admin] [^attachment.txt] [#anchor]",
    "line\\\\break ---- -- \\*escaped\\*",
    "*_*_*_*_*_*_*_*_*_*_*_*_*_*_*_*_*_*_*_*_*_*_*_*_*_*_ deep _*_*_*_*_*_*_*_*_*_*_*_*_*_*_*_*",
    "{code}\nunterminated",
    "é*ü*\u{200b}_\u{10ffff}_\r\n* \r\n",
];
