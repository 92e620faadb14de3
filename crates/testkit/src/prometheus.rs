//! The Prometheus text format as the readers' `/metrics` renders it: parsing, sums, label
//! breakdowns, histogram buckets and quantiles.

use crate::error::HarnessError;
use std::collections::BTreeMap;

/// A metric's Prometheus name: the DogStatsD name of [`observability::names`] with every
/// dot an underscore.
///
/// ```
/// assert_eq!(
///     testkit::prometheus::prometheus_name(observability::names::DECODING_FAILED),
///     "dd_case_third_party_reader_decoding_failed"
/// );
/// ```
pub fn prometheus_name(statsd_name: &str) -> String {
    statsd_name.replace('.', "_")
}

/// The Prometheus name of the filtered count: one name for every flavor
/// ([`observability::names::FILTERED`]), told apart by the `flavor` label, so `_flavor` no
/// longer changes it.
pub fn filtered_name(_flavor: &str) -> String {
    prometheus_name(observability::names::FILTERED)
}

/// One sample: name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Value.
    pub value: f64,
}

/// Parsed Prometheus text: every sample, in order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Metrics {
    samples: Vec<Sample>,
}

fn malformed(line: &str, why: &str) -> HarnessError {
    HarnessError::Fixture {
        what: "Prometheus text".to_owned(),
        detail: format!("{why} in {line:?}"),
    }
}

impl Metrics {
    /// Parses the text format (comments skipped; label values may escape `\"`, `\\` and
    /// `\n`). A malformed line is an error naming it.
    ///
    /// ```
    /// let m = testkit::prometheus::Metrics::parse(
    ///     "# TYPE x counter\nx{flavor=\"jira\",reason=\"a\"} 2\nx{flavor=\"jira\",reason=\"b\"} 3\n",
    /// )?;
    /// assert_eq!(m.sum("x", &[]), 5.0);
    /// assert_eq!(m.sum("x", &[("reason", "b")]), 3.0);
    /// assert_eq!(m.by_label("x", "reason").get("a"), Some(&2.0));
    /// # Ok::<(), testkit::HarnessError>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self, HarnessError> {
        let mut samples = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (head, value) = line
                .rsplit_once(' ')
                .ok_or_else(|| malformed(line, "no value"))?;
            let value: f64 = value
                .parse()
                .map_err(|e| malformed(line, &format!("bad sample value ({e})")))?;
            let (name, labels) = match head.split_once('{') {
                None => (head.to_owned(), BTreeMap::new()),
                Some((name, rest)) => (
                    name.to_owned(),
                    parse_labels(rest.trim_end_matches('}'))
                        .ok_or_else(|| malformed(line, "a label value is not quoted"))?,
                ),
            };
            samples.push(Sample {
                name,
                labels,
                value,
            });
        }
        Ok(Self { samples })
    }

    /// Every sample, in the order parsed (merged ones after).
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// Sum of the samples named `name` whose labels include every `(key, value)` of
    /// `filter`.
    pub fn sum(&self, name: &str, filter: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                filter
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
            .sum()
    }

    /// Sums of `name` grouped by the value of label `by` (samples without it left out).
    pub fn by_label(&self, name: &str, by: &str) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for s in self.samples.iter().filter(|s| s.name == name) {
            if let Some(key) = s.labels.get(by) {
                *out.entry(key.clone()).or_insert(0.0) += s.value;
            }
        }
        out
    }

    /// Cumulative histogram buckets of `name` (`<name>_bucket`), summed over label sets:
    /// `(upper bound, count)` sorted by bound.
    pub fn buckets(&self, name: &str) -> Vec<(f64, f64)> {
        let bucket = format!("{name}_bucket");
        let mut by_le: BTreeMap<String, f64> = BTreeMap::new();
        for s in self.samples.iter().filter(|s| s.name == bucket) {
            if let Some(le) = s.labels.get("le") {
                *by_le.entry(le.clone()).or_insert(0.0) += s.value;
            }
        }
        let mut out: Vec<(f64, f64)> = by_le
            .into_iter()
            .filter_map(|(le, v)| {
                let bound = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().ok()?
                };
                Some((bound, v))
            })
            .collect();
        out.sort_by(|a, b| a.0.total_cmp(&b.0));
        out
    }

    /// Adds another scrape's samples (e.g. a second replica's) to these.
    pub fn merge(&mut self, other: Metrics) {
        self.samples.extend(other.samples);
    }
}

/// `None` when a value is not quoted.
fn parse_labels(text: &str) -> Option<BTreeMap<String, String>> {
    let mut labels = BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            return Some(labels);
        }
        if chars.next() != Some('"') {
            return None;
        }
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => break,
                },
                '"' => break,
                c => value.push(c),
            }
        }
        labels.insert(key.trim_start_matches(',').trim().to_owned(), value);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
}

/// The upper bound of the bucket holding quantile `q` of cumulative `buckets`; `None`
/// without samples.
///
/// ```
/// let buckets = [(10.0, 50.0), (100.0, 99.0), (f64::INFINITY, 100.0)];
/// assert_eq!(testkit::prometheus::quantile(&buckets, 0.5), Some(10.0));
/// assert_eq!(testkit::prometheus::quantile(&buckets, 0.99), Some(100.0));
/// assert_eq!(testkit::prometheus::quantile(&[], 0.5), None);
/// ```
pub fn quantile(buckets: &[(f64, f64)], q: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    buckets
        .iter()
        .find(|(_, count)| *count >= q * total)
        .map(|(bound, _)| *bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_label_values_and_histograms_parse() {
        let m = Metrics::parse(
            "h_bucket{le=\"5\",t=\"a\\\"b\"} 1\nh_bucket{le=\"+Inf\",t=\"a\\\"b\"} 4\nh_bucket{le=\"5\",t=\"c\"} 2\n",
        )
        .unwrap();
        assert_eq!(m.samples()[0].labels["t"], "a\"b");
        assert_eq!(m.buckets("h"), vec![(5.0, 3.0), (f64::INFINITY, 4.0)]);
    }

    #[test]
    fn a_malformed_line_is_an_error_naming_it() {
        let e = Metrics::parse("x{a=b} 1").unwrap_err().to_string();
        assert!(e.contains("x{a=b} 1"), "{e}");
        assert!(Metrics::parse("x one").is_err());
    }

    #[test]
    fn the_filtered_name_is_the_compatibility_name_for_every_flavor() {
        assert_eq!(
            filtered_name("servicenow"),
            "dd_case_third_party_reader_jira_filtered"
        );
    }
}
