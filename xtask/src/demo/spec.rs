//! `fixtures/<flavor>/demo.toml` (ARCHITECTURE.md, flavor contract §A): what `cargo xtask demo` produces for a
//! flavor, and the records it makes of the flavor's fixture files.
//!
//! ```toml
//! replicas = 1            # readers of this flavor started in one group (default 1)
//! compression = "lz4"     # producer compression.codec (default "none")
//!
//! [[records]]             # one or more sources, produced in order
//! dir = "payloads"        # every file directly in fixtures/<flavor>/<dir>, name order
//! steps = "/steps"        # optional: the file holds an array of steps at this pointer
//! value = ""              # pointer (in the file or step) to the record value; "" = whole
//! value_text = "/payload_text"  # optional: a string here is produced as raw bytes (poison)
//! skip_if_present = "/faults"   # optional: steps with this pointer are not produced
//! key = ["/orgId", "/webhook/issue/id"]  # pointers into the value, joined with ':';
//!                                        # key "poison" when one is missing
//! now = ["/webhook/timestamp"]  # set to the current time before producing: a string
//!                               # becomes RFC 3339 with millis, otherwise epoch millis
//!                               # (inserted when the parent object exists)
//! ```
//!
//! A file in `dir` that is not valid JSON is produced as raw bytes with key "poison". Every
//! regular file of `dir` is read, whatever its extension (the Jira poison fixture is a
//! `.txt`). A step (or file) without the `value` pointer and without a `value_text` string is
//! an error naming the file; so is an unknown key in `demo.toml`.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use testkit::clock::now_ms;
use testkit::produce::TestRecord;

/// The record key of anything that is not a well-formed event.
const POISON: &str = "poison";

/// librdkafka's `compression.codec` values.
const CODECS: &[&str] = &["none", "gzip", "snappy", "lz4", "zstd"];

/// One flavor's `demo.toml` (every key optional in serde; [`DemoSpec::parse`] refuses what
/// is missing).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DemoSpec {
    /// Readers of this flavor started in one consumer group.
    pub replicas: u32,
    /// The producer's `compression.codec`.
    pub compression: String,
    /// The record sources, produced in order.
    pub records: Vec<RecordSource>,
}

impl Default for DemoSpec {
    fn default() -> Self {
        Self {
            replicas: 1,
            compression: "none".to_owned(),
            records: Vec::new(),
        }
    }
}

/// One `[[records]]` source: `dir`, then pointers (`None`/empty: not used).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecordSource {
    /// A folder of `fixtures/<flavor>/`.
    pub dir: String,
    /// The array of steps in each file; absent: the file is one record.
    pub steps: Option<String>,
    /// The record value in the file or step; `""` is the whole of it.
    pub value: String,
    /// A string produced as raw bytes with key "poison".
    pub value_text: Option<String>,
    /// Steps where this resolves are not produced.
    pub skip_if_present: Option<String>,
    /// The texts joined with ':' are the record key.
    pub key: Vec<String>,
    /// Set to the current time before producing.
    pub now: Vec<String>,
}

impl DemoSpec {
    /// Reads and checks `path`; every error names the file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "reading {} (every flavor needs one: ARCHITECTURE.md, flavor contract §A)",
                path.display()
            )
        })?;
        Self::parse(&text).with_context(|| format!("{} is not a valid demo.toml", path.display()))
    }

    /// Parses and checks the text of a `demo.toml`.
    pub fn parse(text: &str) -> Result<Self> {
        let spec: Self = toml_edit::de::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        if spec.replicas == 0 {
            bail!("replicas = 0: at least one reader must run");
        }
        if !CODECS.contains(&spec.compression.as_str()) {
            bail!(
                "compression = {:?}: expected one of {}",
                spec.compression,
                CODECS.join(", ")
            );
        }
        if spec.records.is_empty() {
            bail!("no [[records]] source: the flavor would produce nothing");
        }
        for (i, source) in spec.records.iter().enumerate() {
            source
                .check()
                .with_context(|| format!("[[records]] #{}", i + 1))?;
        }
        Ok(spec)
    }
}

impl RecordSource {
    fn check(&self) -> Result<()> {
        let dir = Path::new(&self.dir);
        if self.dir.is_empty()
            || dir.is_absolute()
            || dir
                .components()
                .any(|c| c == std::path::Component::ParentDir)
        {
            bail!(
                "dir = {:?}: name a folder inside fixtures/<flavor>/ (relative, no ..)",
                self.dir
            );
        }
        if self.key.is_empty() {
            bail!("key: name at least one pointer");
        }
        let pointers = self
            .steps
            .iter()
            .chain(&self.value_text)
            .chain(&self.skip_if_present)
            .chain(&self.key)
            .chain(&self.now);
        for pointer in std::iter::once(&self.value).chain(pointers) {
            if !pointer.is_empty() && !pointer.starts_with('/') {
                bail!("{pointer:?} is not a JSON pointer (\"\" or starting with '/')");
            }
        }
        Ok(())
    }

    /// The records of this source, from the files of `<flavor_dir>/<dir>`.
    pub fn records(&self, flavor_dir: &Path) -> Result<Vec<TestRecord>> {
        let dir = flavor_dir.join(&self.dir);
        let mut out = Vec::new();
        for path in sorted_files(&dir)? {
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let Ok(file) = serde_json::from_slice::<Value>(&bytes) else {
                out.push(TestRecord::keyed(POISON, bytes));
                continue;
            };
            self.file_records(file, &mut out)
                .with_context(|| format!("building the records of {}", path.display()))?;
        }
        Ok(out)
    }

    fn file_records(&self, file: Value, out: &mut Vec<TestRecord>) -> Result<()> {
        let items = match &self.steps {
            None => vec![file],
            Some(pointer) => match file.pointer(pointer) {
                Some(Value::Array(steps)) => steps.clone(),
                _ => bail!("no array of steps at {pointer}"),
            },
        };
        for (i, item) in items.iter().enumerate() {
            if let Some(skip) = &self.skip_if_present
                && item.pointer(skip).is_some()
            {
                continue;
            }
            if let Some(text) = self
                .value_text
                .as_ref()
                .and_then(|p| item.pointer(p))
                .and_then(Value::as_str)
            {
                out.push(TestRecord::keyed(POISON, text.as_bytes().to_vec()));
                continue;
            }
            let mut value = item.pointer(&self.value).cloned().with_context(|| {
                format!(
                    "step {i} has no value at {:?} and no value_text string",
                    self.value
                )
            })?;
            for pointer in &self.now {
                set_now(&mut value, pointer);
            }
            let key = self.key(&value);
            out.push(TestRecord::keyed(key, serde_json::to_vec(&value)?));
        }
        Ok(())
    }

    /// The texts at the key pointers joined with ':'; "poison" when one is missing (or null).
    fn key(&self, value: &Value) -> String {
        record_key(value, &self.key).unwrap_or_else(|| POISON.to_owned())
    }
}

/// The texts at `pointers` in `value` joined with ':' (a string as is, anything else as
/// JSON); `None` when one is missing or null.
pub(crate) fn record_key(value: &Value, pointers: &[String]) -> Option<String> {
    let mut parts = Vec::new();
    for pointer in pointers {
        match value.pointer(pointer)? {
            Value::Null => return None,
            Value::String(s) => parts.push(s.clone()),
            other => parts.push(other.to_string()),
        }
    }
    Some(parts.join(":"))
}

/// Sets `pointer` in `value` to now (demo.toml's and bench.toml's `now`): a string becomes RFC 3339 with millis, anything else
/// epoch millis; an absent one is inserted (epoch millis) when its parent is an object.
pub(crate) fn set_now(value: &mut Value, pointer: &str) {
    if let Some(place) = value.pointer_mut(pointer) {
        *place = if place.is_string() {
            Value::from(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        } else {
            Value::from(now_ms())
        };
        return;
    }
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    if let Some(object) = value.pointer_mut(parent).and_then(Value::as_object_mut) {
        let name = last.replace("~1", "/").replace("~0", "~");
        object.insert(name, Value::from(now_ms()));
    }
}

/// Every regular file of `dir`, sorted by name.
fn sorted_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(record: &TestRecord) -> String {
        record.key.clone().unwrap_or_default()
    }

    #[test]
    fn the_defaults_and_the_refusals() {
        let spec = DemoSpec::parse("[[records]]\ndir = \"p\"\nkey = [\"/id\"]\n").unwrap();
        assert_eq!((spec.replicas, spec.compression.as_str()), (1, "none"));
        assert_eq!(spec.records[0].value, "");
        for (bad, why) in [
            ("replicas = 2\n", "no [[records]]"),
            ("[[records]]\nkey = [\"/id\"]\n", "dir"),
            ("[[records]]\ndir = \"p\"\n", "key"),
            (
                "replicas = 0\n[[records]]\ndir = \"p\"\nkey = [\"/id\"]\n",
                "replicas",
            ),
            (
                "compression = \"brotli\"\n[[records]]\ndir = \"p\"\nkey = [\"/id\"]\n",
                "brotli",
            ),
            (
                "[[records]]\ndir = \"p\"\nkey = [\"/id\"]\nvalues = \"\"\n",
                "values",
            ),
            ("[[records]]\ndir = \"../x\"\nkey = [\"/id\"]\n", "relative"),
            ("[[records]]\ndir = \"p\"\nkey = [\"id\"]\n", "JSON pointer"),
            ("[[records]]\ndir = \"p\"\nkey = []\n", "at least one"),
        ] {
            let err = format!("{:#}", DemoSpec::parse(bad).unwrap_err());
            assert!(err.contains(why), "{bad:?} → {err}");
        }
    }

    #[test]
    fn records_follow_the_pointers_skip_poison_and_now_rules() {
        let dir = tempfile::tempdir().unwrap();
        let files = dir.path().join("events");
        std::fs::create_dir(&files).unwrap();
        std::fs::write(
            files.join("a.json"),
            r#"{"steps": [
                {"payload": {"org": 7, "id": "x", "t": "2020-01-01T00:00:00Z", "in": {}}},
                {"faults": [1], "payload": {"org": 7, "id": "y"}},
                {"payload_text": "{trunc"},
                {"payload": {"id": "z"}}
            ]}"#,
        )
        .unwrap();
        std::fs::write(files.join("b.txt"), "not json").unwrap();
        let source = RecordSource {
            dir: "events".into(),
            steps: Some("/steps".into()),
            value: "/payload".into(),
            value_text: Some("/payload_text".into()),
            skip_if_present: Some("/faults".into()),
            key: vec!["/org".into(), "/id".into()],
            now: vec!["/t".into(), "/in/ms".into()],
        };
        let before = now_ms();
        let records = source.records(dir.path()).unwrap();
        let keys: Vec<String> = records.iter().map(key).collect();
        assert_eq!(keys, ["7:x", "poison", "poison", "poison"]);
        let first: Value = serde_json::from_slice(&records[0].value).unwrap();
        let t = first["t"].as_str().unwrap();
        assert!(t.ends_with('Z') && t.len() == 24 && t > "2025", "{t}");
        assert!(first["in"]["ms"].as_i64().unwrap() >= before);
        assert_eq!(records[1].value, b"{trunc");
        assert_eq!(records[3].value, b"not json");

        let missing = RecordSource {
            value: "/nope".into(),
            ..source
        };
        let err = format!("{:#}", missing.records(dir.path()).unwrap_err());
        assert!(err.contains("a.json") && err.contains("/nope"), "{err}");
    }

    #[test]
    fn the_fixture_demo_files_parse() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for flavor in xtask::flavors(&root).unwrap() {
            let spec = DemoSpec::load(&flavor.fixtures(&root).join("demo.toml")).unwrap();
            for source in &spec.records {
                let records = source.records(&flavor.fixtures(&root)).unwrap();
                assert!(!records.is_empty(), "{}: {source:?}", flavor.name);
            }
        }
    }
}
