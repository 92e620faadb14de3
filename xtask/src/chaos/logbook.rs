//! What the readers' JSON logs say happened: the per-event decision lines (applied,
//! filtered with its reason, permanent error, decode failure at its offset), panics and
//! error lines.

use anyhow::Result;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

/// Every reader log of one scenario and what its lines said so far.
#[derive(Default)]
pub(super) struct LogBook {
    files: Vec<(PathBuf, u64)>,
    pub(super) applied: HashMap<String, u32>,
    pub(super) filtered: HashMap<String, Vec<String>>,
    pub(super) permanent: HashMap<String, u32>,
    pub(super) decode_failed: HashMap<(i32, i64), u32>,
    pub(super) retry_needed: u64,
    pub(super) state_conflict: u64,
    pub(super) version_mismatch: u64,
    pub(super) panics: Vec<String>,
    pub(super) errors: u64,
}

impl LogBook {
    /// Follows the log file at `path` (of a reader just started).
    pub(super) fn add(&mut self, path: PathBuf) {
        self.files.push((path, 0));
    }

    /// Reads every complete line added since the last call.
    pub(super) fn refresh(&mut self) -> Result<()> {
        let mut lines = Vec::new();
        for (path, pos) in &mut self.files {
            let Ok(mut f) = std::fs::File::open(&*path) else {
                continue;
            };
            f.seek(SeekFrom::Start(*pos))?;
            let mut buf = Vec::new();
            f.read_to_end(&mut buf)?;
            let complete = buf.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
            *pos += complete as u64;
            let text =
                String::from_utf8_lossy(buf.get(..complete).unwrap_or_default()).into_owned();
            lines.extend(text.lines().map(str::to_owned));
        }
        for line in lines {
            self.line(&line);
        }
        Ok(())
    }

    fn line(&mut self, line: &str) {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            if line.contains("panicked at") {
                self.panics.push(line.chars().take(300).collect());
            }
            return;
        };
        if v.get("level").and_then(Value::as_str) == Some("ERROR") {
            self.errors += 1;
        }
        let id = v.get("event_id").and_then(Value::as_str).map(str::to_owned);
        match v.get("outcome").and_then(Value::as_str) {
            Some("processed") => {
                if let Some(id) = id {
                    *self.applied.entry(id).or_insert(0) += 1;
                }
            }
            Some("filtered") => {
                let reason = v
                    .get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_owned();
                match reason.as_str() {
                    "state_conflict" => self.state_conflict += 1,
                    "case_version_mismatch" => self.version_mismatch += 1,
                    _ => {}
                }
                if let Some(id) = id {
                    self.filtered.entry(id).or_default().push(reason);
                }
            }
            Some("permanent_error") => {
                if let Some(id) = id {
                    *self.permanent.entry(id).or_insert(0) += 1;
                }
            }
            Some("decode_failed") => {
                let p = v.get("partition").and_then(Value::as_i64);
                let o = v.get("offset").and_then(Value::as_i64);
                if let (Some(p), Some(o)) = (p, o) {
                    *self
                        .decode_failed
                        .entry((i32::try_from(p).unwrap_or(-1), o))
                        .or_insert(0) += 1;
                }
            }
            Some("retry_needed") => self.retry_needed += 1,
            _ => {}
        }
    }

    /// Per reader run: seconds from its first log line to its first event outcome (group
    /// join + assignment + first handling), from the log timestamps.
    pub(super) fn start_to_first_outcome_s(&self) -> Vec<f64> {
        let ts = |line: &str| -> Option<chrono::DateTime<chrono::Utc>> {
            let v: Value = serde_json::from_str(line).ok()?;
            chrono::DateTime::parse_from_rfc3339(v.get("timestamp")?.as_str()?)
                .ok()
                .map(|t| t.with_timezone(&chrono::Utc))
        };
        let mut out = Vec::new();
        for (path, _) in &self.files {
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            let start = text.lines().find_map(ts);
            let first = text
                .lines()
                .filter(|l| l.contains("\"outcome\""))
                .find_map(ts);
            if let (Some(a), Some(b)) = (start, first) {
                out.push((b - a).num_milliseconds() as f64 / 1000.0);
            }
        }
        out
    }

    /// How many filtered lines each reason had.
    pub(super) fn filtered_by_reason(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for reasons in self.filtered.values() {
            for r in reasons {
                *out.entry(r.clone()).or_insert(0) += 1;
            }
        }
        out
    }
}
