//! The "filter path, <flavor>" runs: for every discovered flavor with a
//! `fixtures/<flavor>/bench.toml`, `--flavor-events` events built from one fixture record,
//! each made distinct, read by that flavor's reader; the rate is over the reader's
//! `messages_handled` counter (one per record, however many changelogs a record holds).
//!
//! `fixtures/<flavor>/bench.toml` (every key but `now`, `reasons` required; unknown keys are
//! an error naming the file):
//!
//! ```toml
//! template = "events/break_synchronization_cycle_integration_user.json"  # a file of fixtures/<flavor>/
//! value = "/steps/0/payload"  # pointer to the record value in it ("" = the whole file)
//! key = ["/orgId", "/sysId"]  # pointers into the value, joined with ':' (the record key)
//! now = ["/updatedTime"]      # optional: set per event like demo.toml's `now` (a string
//!                             # becomes RFC 3339 with millis, anything else epoch millis,
//!                             # inserted when the parent object exists)
//! reasons = ["break_synchronization_cycle"]  # optional: the only filter reasons the run
//!                                            # may see (and nothing processed), else a warning
//!
//! [vary]                      # pointer = pattern, set in event i (so every event is distinct):
//! "/sysId" = "{i:x32}"        #   {i:x32}: i as 32 lowercase hex digits, zero-padded
//! "/data/sysModCount" = "{i}" #   {i}: i in decimal; exactly "{i}" over a number stays a number
//! ```
//!
//! Every `vary` pointer must exist in the template. The events are rendered with a JSON
//! serializer each (unlike the Jira runs' slot template): fine for the event counts of this
//! run, which is a per-flavor comparison, not the harness limit.

use super::Bench;
use super::produce::Produced;
use super::reader::ReaderRun;
use crate::demo::spec::{record_key, set_now};
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;
use testkit::prometheus::{Metrics, filtered_name, prometheus_name};
use xtask::Flavor;

/// The reader's per-record counter (the rate of these runs).
static MESSAGES_HANDLED: LazyLock<String> =
    LazyLock::new(|| prometheus_name(kafka_runtime::events::MESSAGES_HANDLED));

/// One flavor's `bench.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BenchSpec {
    template: String,
    #[serde(default)]
    value: String,
    key: Vec<String>,
    #[serde(default)]
    now: Vec<String>,
    #[serde(default)]
    reasons: Vec<String>,
    vary: BTreeMap<String, String>,
}

/// A flavor's spec with its template value loaded.
pub(super) struct FlavorBench {
    pub(super) flavor: Flavor,
    spec: BenchSpec,
    template: Value,
}

impl FlavorBench {
    /// The flavors of `flavors` that have `fixtures/<flavor>/bench.toml`, loaded and checked.
    pub(super) fn discover(root: &Path, flavors: Vec<Flavor>) -> Result<Vec<Self>> {
        let mut out = Vec::new();
        for flavor in flavors {
            let path = flavor.fixtures(root).join("bench.toml");
            if !path.is_file() {
                continue;
            }
            let loaded = Self::load(&flavor.fixtures(root), &path)
                .with_context(|| format!("{} is not a valid bench.toml", path.display()))?;
            out.push(Self {
                flavor,
                spec: loaded.0,
                template: loaded.1,
            });
        }
        Ok(out)
    }

    fn load(fixtures: &Path, path: &Path) -> Result<(BenchSpec, Value)> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let spec: BenchSpec = toml_edit::de::from_str(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
        let file = crate::workload::read_json(&fixtures.join(&spec.template))?;
        let template = file
            .pointer(&spec.value)
            .cloned()
            .with_context(|| format!("template {} has no {:?}", spec.template, spec.value))?;
        if spec.key.is_empty() || spec.vary.is_empty() {
            bail!("`key` and `[vary]` need at least one pointer each");
        }
        for pointer in spec.vary.keys().chain(&spec.key) {
            if template.pointer(pointer).is_none() {
                bail!("the template value has no {pointer}");
            }
        }
        Ok((spec, template))
    }

    /// Event `i`: the template with the `vary` pointers set for `i` and `now` applied.
    pub(super) fn event(&self, i: u64) -> Result<(String, Vec<u8>)> {
        let mut value = self.template.clone();
        for (pointer, pattern) in &self.spec.vary {
            let place = value
                .pointer_mut(pointer)
                .with_context(|| format!("the template lost {pointer}"))?;
            *place = if pattern == "{i}" && place.is_number() {
                Value::from(i)
            } else {
                Value::from(
                    pattern
                        .replace("{i:x32}", &format!("{i:032x}"))
                        .replace("{i}", &i.to_string()),
                )
            };
        }
        for pointer in &self.spec.now {
            set_now(&mut value, pointer);
        }
        let key = record_key(&value, &self.spec.key)
            .with_context(|| format!("event {i} lacks a key pointer of {:?}", self.spec.key))?;
        Ok((key, serde_json::to_vec(&value)?))
    }
}

/// What one flavor's filter-path run measured (`expected`: its bench.toml `reasons`).
pub(super) struct FlavorRun {
    pub(super) flavor: String,
    expected: Vec<String>,
    pub(super) produced: Produced,
    pub(super) run: ReaderRun,
}

impl FlavorRun {
    /// Filtered changelogs per reason.
    pub(super) fn reasons(&self) -> BTreeMap<String, f64> {
        self.run
            .metrics
            .by_label(&filtered_name(&self.flavor), "reason")
    }

    /// Only the expected reasons (when bench.toml names any) and nothing processed.
    pub(super) fn as_expected(&self) -> bool {
        self.run.metrics.sum(&super::PROCESSED, &[]) == 0.0
            && (self.expected.is_empty()
                || self.reasons().keys().all(|r| self.expected.contains(r)))
    }

    pub(super) fn json(&self) -> Value {
        let mut run = self.run.json();
        if let Some(object) = run.as_object_mut() {
            object.insert("filtered".into(), json!(self.reasons()));
        }
        json!({
            "produce": self.produced.json(),
            "run": run,
            "only_expected_reasons": self.as_expected(),
        })
    }
}

impl Bench<'_> {
    /// The filter-path run of every flavor with a `bench.toml`; none with `--flavor-events 0`.
    pub(super) async fn flavor_runs(&self) -> Result<Vec<FlavorRun>> {
        let events = self.args.flavor_events;
        let mut out = Vec::new();
        for bench in self.flavors.iter().filter(|_| events > 0) {
            let name = &bench.flavor.name;
            let topic = self.topic(&format!("filter_{name}"))?;
            let mut failed = None;
            let produced = self
                .produce_bulk(&topic, events, |i| match bench.event(i) {
                    Ok(event) => event,
                    Err(e) => {
                        failed.get_or_insert(e);
                        (String::new(), Vec::new())
                    }
                })
                .await?;
            if let Some(e) = failed {
                return Err(e.context(format!("rendering the {name} bench events")));
            }
            println!(
                "bench: produced {} {name} filter-path events ({:.0} B mean, lz4)",
                produced.count,
                produced.mean_bytes()
            );
            let handled = |m: &Metrics| m.sum(&MESSAGES_HANDLED, &[]).max(0.0) as u64;
            let run = self
                .flavor_reader_run(name, &format!("filter-{name}"), &topic, &produced, handled)
                .await?;
            let done = FlavorRun {
                flavor: name.clone(),
                expected: bench.spec.reasons.clone(),
                produced,
                run,
            };
            println!(
                "bench: filter path, {name}: {:.0} msgs/s; reasons {:?}",
                done.run.msgs_per_s,
                done.reasons()
            );
            out.push(done);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_is_distinct_and_keyed_from_the_template() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("t.json"),
            r#"{"steps": [{"payload": {"org": 5, "id": "x", "n": 1, "c": "1", "t": "old"}}]}"#,
        )
        .unwrap();
        let spec = dir.path().join("bench.toml");
        std::fs::write(
            &spec,
            "template = \"t.json\"\nvalue = \"/steps/0/payload\"\nkey = [\"/org\", \"/id\"]\n\
             now = [\"/t\"]\n[vary]\n\"/id\" = \"{i:x32}\"\n\"/n\" = \"{i}\"\n\"/c\" = \"c{i}\"\n",
        )
        .unwrap();
        let (spec, template) = FlavorBench::load(dir.path(), &spec).unwrap();
        let bench = FlavorBench {
            flavor: Flavor {
                name: "f".into(),
                package: "reader-f".into(),
                bin: "reader-f".into(),
                dir: dir.path().to_path_buf(),
                real_broker: false,
            },
            spec,
            template,
        };
        let (key, value) = bench.event(255).unwrap();
        assert_eq!(key, format!("5:{:032x}", 255));
        let value: Value = serde_json::from_slice(&value).unwrap();
        assert_eq!(
            (value["n"].as_u64(), value["c"].as_str()),
            (Some(255), Some("c255"))
        );
        assert_ne!(value["t"], "old");
        assert_ne!(bench.event(1).unwrap(), bench.event(2).unwrap());
    }

    #[test]
    fn a_vary_pointer_missing_from_the_template_or_an_unknown_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.json"), r#"{"id": "x"}"#).unwrap();
        let path = dir.path().join("bench.toml");
        for (text, why) in [
            (
                "template = \"t.json\"\nkey = [\"/id\"]\n[vary]\n\"/nope\" = \"{i}\"\n",
                "/nope",
            ),
            (
                "template = \"t.json\"\nkey = [\"/id\"]\nkeys = 1\n[vary]\n\"/id\" = \"{i}\"\n",
                "keys",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            let err = format!("{:#}", FlavorBench::load(dir.path(), &path).unwrap_err());
            assert!(err.contains(why), "{text:?} → {err}");
        }
    }

    #[test]
    fn the_fixture_bench_files_load() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let found = FlavorBench::discover(&root, xtask::flavors(&root).unwrap()).unwrap();
        assert!(
            found.iter().any(|b| b.flavor.name == "servicenow"),
            "fixtures/servicenow/bench.toml is the format's example"
        );
        for bench in &found {
            assert_ne!(bench.event(0).unwrap(), bench.event(1).unwrap());
        }
    }
}
