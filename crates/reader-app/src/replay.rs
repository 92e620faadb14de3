//! `replay`: recorded messages through the same pipeline, one printed decision per changelog.

use crate::cli::OutputFormat;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use thirdparty_core::{ChangelogOutcome, DecodeError, Outcome, Payload, Pipeline};

/// Where a replayed message came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MessageOrigin {
    /// A file, and the line for JSON-lines files (1-based).
    File {
        /// The file.
        path: PathBuf,
        /// Line number, for JSON-lines files.
        line: Option<usize>,
    },
    /// A topic coordinate.
    Topic {
        /// Partition.
        partition: i32,
        /// Offset.
        offset: i64,
    },
    /// A copy in the dead-letter topic, and the source coordinate it was parked from.
    DeadLetter {
        /// (partition, offset) in the dead-letter topic.
        at: (i32, i64),
        /// (partition, offset) of the original message in the source topic.
        source: (i32, i64),
    },
}

impl std::fmt::Display for MessageOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File { path, line: None } => write!(f, "{}", path.display()),
            Self::File {
                path,
                line: Some(l),
            } => write!(f, "{}:{l}", path.display()),
            Self::Topic { partition, offset } => write!(f, "{partition}/{offset}"),
            Self::DeadLetter { at, source } => write!(
                f,
                "{}/{} (dead-letter {}/{})",
                source.0, source.1, at.0, at.1
            ),
        }
    }
}

/// A message read for replay, or why it could not be prepared.
pub(crate) struct ReplayMessage {
    /// Where it came from.
    pub(crate) origin: MessageOrigin,
    /// The payload, or the error wrapping a raw body into the envelope.
    pub(crate) payload: Result<Payload, DecodeError>,
}

/// Splits a file into messages: the whole file when it is one JSON document, else one message
/// per non-blank line (JSON lines). Raw bytes that are neither are kept whole so the decoder
/// reports them.
pub(crate) fn read_file(path: &Path) -> std::io::Result<Vec<(Option<usize>, Vec<u8>)>> {
    let bytes = std::fs::read(path)?;
    if serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok() {
        return Ok(vec![(None, bytes)]);
    }
    let lines: Vec<(Option<usize>, Vec<u8>)> = bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
        .map(|(i, l)| (Some(i + 1), l.to_vec()))
        .collect();
    if lines.len() > 1 {
        Ok(lines)
    } else {
        Ok(vec![(None, bytes)])
    }
}

/// One printed decision.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct Decision {
    /// Where the message came from.
    pub(crate) source: String,
    /// `update_priority`, … (empty when the message did not decode).
    pub(crate) changelog_type: String,
    /// `applied`, `would_apply`, `filtered`, `decode_error`, `permanent_error`,
    /// `retry_needed`, or `truncated` (a parked copy cut to fit the broker's limit).
    pub(crate) decision: &'static str,
    /// The filter reason or the error, when there is one.
    pub(crate) detail: String,
}

impl Decision {
    fn from_outcome(source: &str, o: &ChangelogOutcome) -> Self {
        let changelog_type = o
            .changelog_type
            .as_ref()
            .map(|t| t.as_tag().into_owned())
            .unwrap_or_default();
        let detail_if = |yes: bool, text: &str| if yes { text.to_owned() } else { String::new() };
        let (decision, detail) = match &o.outcome {
            Outcome::Processed {
                overridden_conflict,
            } => (
                "applied",
                detail_if(*overridden_conflict, "overrode a state conflict"),
            ),
            Outcome::WouldApply {
                overridden_conflict,
            } => (
                "would_apply",
                detail_if(*overridden_conflict, "would override a state conflict"),
            ),
            Outcome::Filtered(r) => ("filtered", r.as_str().to_owned()),
            Outcome::DecodeFailed(e) => ("decode_error", e.to_string()),
            Outcome::PermanentError(e) => ("permanent_error", e.to_string()),
            Outcome::RetryNeeded(e) => ("retry_needed", e.to_string()),
        };
        Self {
            source: source.to_owned(),
            changelog_type,
            decision,
            detail,
        }
    }
}

/// Totals of a replay, by decision (and filter reason).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ReplaySummary {
    /// Messages read.
    pub(crate) messages: usize,
    /// Decisions per kind (`applied`, `filtered`, `retry_needed`, …).
    pub(crate) by_decision: std::collections::BTreeMap<&'static str, usize>,
    /// Filtered decisions per reason.
    pub(crate) filtered_by_reason: std::collections::BTreeMap<String, usize>,
}

impl ReplaySummary {
    /// Decisions of this kind (`retry_needed`: the Case API failed transiently).
    pub(crate) fn count(&self, decision: &str) -> usize {
        self.by_decision.get(decision).copied().unwrap_or(0)
    }

    /// Decisions printed.
    pub(crate) fn decisions(&self) -> usize {
        self.by_decision.values().sum()
    }
}

impl std::fmt::Display for ReplaySummary {
    /// `3 message(s), 4 decision(s): applied 2, filtered 2 (field_value_not_mapped 2)`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} message(s), {} decision(s)",
            self.messages,
            self.decisions()
        )?;
        let mut sep = ": ";
        for (decision, n) in &self.by_decision {
            write!(f, "{sep}{decision} {n}")?;
            sep = ", ";
            if *decision == "filtered" && !self.filtered_by_reason.is_empty() {
                let reasons: Vec<String> = self
                    .filtered_by_reason
                    .iter()
                    .map(|(r, n)| format!("{r} {n}"))
                    .collect();
                write!(f, " ({})", reasons.join(", "))?;
            }
        }
        Ok(())
    }
}

/// Runs one message through `pipeline` (applying it unless the pipeline is a dry run): one
/// decision per changelog, or one `decode_error`.
pub(crate) async fn decide(pipeline: &Pipeline, message: ReplayMessage) -> Vec<Decision> {
    let source = message.origin.to_string();
    match message.payload {
        Ok(payload) => pipeline
            .run(&payload)
            .await
            .outcomes
            .iter()
            .map(|o| Decision::from_outcome(&source, o))
            .collect(),
        Err(e) => vec![Decision {
            source,
            changelog_type: String::new(),
            decision: "decode_error",
            detail: e.to_string(),
        }],
    }
}

/// Prints decisions (JSON lines as they come, or an aligned table at [`Report::finish`])
/// and counts them.
pub(crate) struct Report<'a> {
    format: OutputFormat,
    out: &'a mut dyn Write,
    rows: Vec<Decision>,
    summary: ReplaySummary,
}

impl<'a> Report<'a> {
    pub(crate) fn new(format: OutputFormat, out: &'a mut dyn Write) -> Self {
        Self {
            format,
            out,
            rows: Vec::new(),
            summary: ReplaySummary::default(),
        }
    }

    /// Counts and prints the decisions of one message; `true` when one needs a retry.
    pub(crate) fn decisions(&mut self, decisions: Vec<Decision>) -> std::io::Result<bool> {
        self.summary.messages += 1;
        let mut retry = false;
        for d in decisions {
            *self.summary.by_decision.entry(d.decision).or_default() += 1;
            match d.decision {
                "retry_needed" => retry = true,
                "filtered" => {
                    *self
                        .summary
                        .filtered_by_reason
                        .entry(d.detail.clone())
                        .or_default() += 1;
                }
                _ => {}
            }
            match self.format {
                OutputFormat::Json => {
                    serde_json::to_writer(&mut *self.out, &d)?;
                    writeln!(self.out)?;
                }
                OutputFormat::Table => self.rows.push(d),
            }
        }
        Ok(retry)
    }

    /// Prints the table (table format) and returns the totals.
    pub(crate) fn finish(self) -> std::io::Result<ReplaySummary> {
        if self.format == OutputFormat::Table {
            print_table(&self.rows, self.out)?;
        }
        self.out.flush()?;
        Ok(self.summary)
    }
}

fn print_table(rows: &[Decision], out: &mut dyn Write) -> std::io::Result<()> {
    let [h0, h1, h2, h3] = ["SOURCE", "CHANGELOG TYPE", "DECISION", "DETAIL"];
    let width =
        |f: fn(&Decision) -> usize, h: &str| rows.iter().map(f).chain([h.len()]).max().unwrap_or(0);
    let w0 = width(|d| d.source.len(), h0);
    let w1 = width(|d| d.changelog_type.len(), h1);
    let w2 = width(|d| d.decision.len(), h2);
    writeln!(out, "{h0:w0$}  {h1:w1$}  {h2:w2$}  {h3}")?;
    for d in rows {
        writeln!(
            out,
            "{:w0$}  {:w1$}  {:w2$}  {}",
            d.source, d.changelog_type, d.decision, d.detail
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(decision: &'static str, detail: &str) -> Decision {
        Decision {
            source: "0/1".into(),
            changelog_type: "update_status".into(),
            decision,
            detail: detail.into(),
        }
    }

    #[test]
    fn the_summary_counts_by_decision_and_filter_reason_and_prints_table_or_json_lines() {
        for (format, want) in [
            (
                OutputFormat::Json,
                "{\"source\":\"0/1\",\"changelog_type\":\"update_status\",\"decision\":\"applied\",\"detail\":\"\"}\n",
            ),
            (
                OutputFormat::Table,
                "SOURCE  CHANGELOG TYPE  DECISION  DETAIL\n0/1     update_status   applied   \n",
            ),
        ] {
            let mut out = Vec::new();
            let mut report = Report::new(format, &mut out);
            assert!(!report.decisions(vec![decision("applied", "")]).unwrap());
            let summary = report.finish().unwrap();
            assert_eq!(summary.messages, 1);
            let text = String::from_utf8(out).unwrap();
            assert_eq!(text, want);
        }
        let mut out = Vec::new();
        let mut report = Report::new(OutputFormat::Json, &mut out);
        let filtered = |r| decision("filtered", r);
        report
            .decisions(vec![
                filtered("field_value_not_mapped"),
                filtered("state_conflict"),
            ])
            .unwrap();
        report
            .decisions(vec![filtered("field_value_not_mapped")])
            .unwrap();
        assert!(
            report
                .decisions(vec![decision("retry_needed", "unavailable")])
                .unwrap()
        );
        let summary = report.finish().unwrap();
        assert_eq!(
            summary.to_string(),
            "3 message(s), 4 decision(s): filtered 3 (field_value_not_mapped 2, state_conflict 1), retry_needed 1"
        );
        assert_eq!(summary.count("retry_needed"), 1);
    }

    #[test]
    fn a_parked_copy_names_its_source_and_its_place_in_the_dead_letter_topic() {
        let origin = MessageOrigin::DeadLetter {
            at: (0, 5),
            source: (3, 1042),
        };
        assert_eq!(origin.to_string(), "3/1042 (dead-letter 0/5)");
    }
}
