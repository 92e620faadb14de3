//! [`SkipList`]: the operator's list of messages never to hand to the handler
//! (`[dd.kafka.consumer] skip_messages`, seed section 7.3), changeable at run time.

use crate::RuntimeError;
use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, RwLock};

/// Where one message lives: `topic:partition:offset`.
///
/// ```
/// use kafka_runtime::MessageCoordinates;
/// let c: MessageCoordinates = "collaboration_integrations_jira:3:1042".parse().unwrap_or_else(|e| panic!("{e}"));
/// assert_eq!((c.partition, c.offset), (3, 1042));
/// assert_eq!(c.to_string(), "collaboration_integrations_jira:3:1042");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageCoordinates {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
}

impl MessageCoordinates {
    /// Coordinates of a message.
    pub fn new(topic: impl Into<String>, partition: i32, offset: i64) -> Self {
        Self {
            topic: topic.into(),
            partition,
            offset,
        }
    }
}

impl fmt::Display for MessageCoordinates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.topic, self.partition, self.offset)
    }
}

/// A skip-list entry that is not `offset`, `partition:offset` or `topic:partition:offset`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "skip_messages entry `{entry}` is not `offset`, `partition:offset` or `topic:partition:offset` ({problem}); write e.g. `1042`, `3:1042` or `collaboration_integrations_jira:3:1042`"
)]
pub struct SkipEntryError {
    /// The entry as written.
    pub entry: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

impl FromStr for MessageCoordinates {
    type Err = SkipEntryError;

    /// Exactly `topic:partition:offset` (a [`SkipEntry`] with every part).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let entry = s.trim();
        let err = |problem| SkipEntryError {
            entry: entry.to_owned(),
            problem,
        };
        match entry.split(':').count() {
            0 | 1 => return Err(err("missing partition")),
            2 => return Err(err("missing topic")),
            _ => {}
        }
        match entry.parse::<SkipEntry>()? {
            SkipEntry {
                topic: Some(topic),
                partition: Some(partition),
                offset,
            } => Ok(Self::new(topic, partition, offset)),
            _ => Err(err("missing topic")),
        }
    }
}

/// One `skip_messages` entry: an offset of every partition of the consumed topic (the
/// previous service's form, `1042`), an offset of one partition (`3:1042`), or one message of
/// one topic (`collaboration_integrations_jira:3:1042`).
///
/// ```
/// use kafka_runtime::SkipEntry;
/// let any_partition: SkipEntry = "1042".parse().unwrap_or_else(|e| panic!("{e}"));
/// assert!(any_partition.matches("jira", 0, 1042) && any_partition.matches("jira", 5, 1042));
/// let one: SkipEntry = "3:1042".parse().unwrap_or_else(|e| panic!("{e}"));
/// assert!(one.matches("jira", 3, 1042) && !one.matches("jira", 2, 1042));
/// let full: SkipEntry = "jira:3:1042".parse().unwrap_or_else(|e| panic!("{e}"));
/// assert!(!full.matches("other", 3, 1042));
/// assert_eq!([any_partition, one, full].map(|e| e.to_string()), ["1042", "3:1042", "jira:3:1042"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SkipEntry {
    /// The topic; `None`: the topic the runtime consumes.
    pub topic: Option<String>,
    /// The partition; `None`: every partition.
    pub partition: Option<i32>,
    /// The offset.
    pub offset: i64,
}

impl SkipEntry {
    /// Whether the message at these coordinates is the one (or one of those) this entry
    /// names.
    pub fn matches(&self, topic: &str, partition: i32, offset: i64) -> bool {
        self.offset == offset
            && self.partition.is_none_or(|p| p == partition)
            && self.topic.as_deref().is_none_or(|t| t == topic)
    }
}

impl From<MessageCoordinates> for SkipEntry {
    fn from(c: MessageCoordinates) -> Self {
        Self {
            topic: Some(c.topic),
            partition: Some(c.partition),
            offset: c.offset,
        }
    }
}

impl fmt::Display for SkipEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(topic) = &self.topic {
            write!(f, "{topic}:")?;
        }
        if let Some(partition) = self.partition {
            write!(f, "{partition}:")?;
        }
        write!(f, "{}", self.offset)
    }
}

impl FromStr for SkipEntry {
    type Err = SkipEntryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let entry = s.trim();
        let err = |problem| SkipEntryError {
            entry: entry.to_owned(),
            problem,
        };
        let parts: Vec<&str> = entry.split(':').map(str::trim).collect();
        let number = |text: &str, problem| text.parse::<i64>().map_err(|_| err(problem));
        let (topic, partition, offset) = match parts.as_slice() {
            [offset] => (None, None, *offset),
            [partition, offset] => (None, Some(*partition), *offset),
            [topic, partition, offset] => (Some(*topic), Some(*partition), *offset),
            _ => return Err(err("too many `:`")),
        };
        if topic.is_some_and(str::is_empty) {
            return Err(err("empty topic"));
        }
        let offset = number(offset, "offset is not an integer")?;
        let partition = partition
            .map(|p| {
                number(p, "partition is not an integer")
                    .and_then(|p| i32::try_from(p).map_err(|_| err("partition is out of range")))
            })
            .transpose()?;
        if offset < 0 || partition.is_some_and(|p| p < 0) {
            return Err(err("partition and offset must not be negative"));
        }
        Ok(Self {
            topic: topic.map(str::to_owned),
            partition,
            offset,
        })
    }
}

/// What a `skip_messages` value looks like (the `[dd.kafka.consumer]` key's
/// [`KeyKind::List`](thirdparty_core::config::KeyKind::List) text).
pub const SKIP_MESSAGES_SYNTAX: &str = "entries separated by commas: `offset` (every partition of the topic), `partition:offset` or `topic:partition:offset`, e.g. 1042, 3:1042, collaboration_integrations_jira:3:1042";

/// A `skip_messages` entry in a configuration section: entries are separated by commas or
/// white space, and a bad entry is named with what is wrong with it.
impl thirdparty_core::config::ConfigListItem for SkipEntry {
    fn is_separator(c: char) -> bool {
        c == ',' || c.is_whitespace()
    }

    fn from_entry(entry: &str) -> Result<Self, String> {
        entry
            .parse()
            .map_err(|e: SkipEntryError| e.problem.to_owned())
    }
}

/// A bad skip-list entry where a [`SkipList`] is built for the runtime
/// (`SkipList::parse(...)?` in a function returning [`RuntimeError`]).
impl From<SkipEntryError> for RuntimeError {
    fn from(e: SkipEntryError) -> Self {
        RuntimeError::InvalidConfig {
            field: "skip_messages",
            message: e.to_string(),
        }
    }
}

/// The messages the runtime must not hand to the handler: each listed message is logged
/// with its coordinates, counted (`dd.case.kafka_consumer.message_skipped`) and acknowledged.
///
/// Cheap to clone (one shared set): keep a clone and call [`SkipList::set`] when the
/// operator's configuration changes; the runtime checks the list before every handler call,
/// retries included, so adding a message that is being retried unblocks its partition.
///
/// ```
/// use kafka_runtime::SkipList;
/// let skip = SkipList::parse("jira:0:7, jira:2:11").unwrap_or_else(|e| panic!("{e}"));
/// assert!(skip.contains("jira", 2, 11));
/// assert!(!skip.contains("jira", 2, 12));
/// skip.set(Vec::new());
/// assert!(!skip.contains("jira", 2, 11));
/// ```
#[derive(Debug, Clone, Default)]
pub struct SkipList {
    inner: Arc<RwLock<HashSet<SkipEntry>>>,
}

impl SkipList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// A list of these messages.
    pub fn from_coordinates(entries: impl IntoIterator<Item = MessageCoordinates>) -> Self {
        Self::from_entries(entries.into_iter().map(SkipEntry::from))
    }

    /// A list of these entries.
    pub fn from_entries(entries: impl IntoIterator<Item = SkipEntry>) -> Self {
        let list = Self::new();
        list.set(entries.into_iter().collect());
        list
    }

    /// Parses the previous service's `skip_messages` value: comma- or whitespace-separated
    /// entries, each `offset`, `partition:offset` or `topic:partition:offset` (empty entries
    /// are ignored).
    pub fn parse(value: &str) -> Result<Self, SkipEntryError> {
        Ok(Self::from_entries(Self::parse_entries(value)?))
    }

    /// Parses entries without building a list (for a configuration reload).
    pub fn parse_entries(value: &str) -> Result<Vec<SkipEntry>, SkipEntryError> {
        value
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|e| !e.is_empty())
            .map(str::parse)
            .collect()
    }

    /// Replaces the whole list; every clone sees the new list at once.
    pub fn set(&self, entries: Vec<SkipEntry>) {
        let set: HashSet<_> = entries.into_iter().collect();
        match self.inner.write() {
            Ok(mut guard) => *guard = set,
            Err(poisoned) => *poisoned.into_inner() = set,
        }
    }

    /// Whether the message at these coordinates is listed.
    pub fn contains(&self, topic: &str, partition: i32, offset: i64) -> bool {
        let check = |set: &HashSet<SkipEntry>| {
            !set.is_empty() && set.iter().any(|e| e.matches(topic, partition, offset))
        };
        match self.inner.read() {
            Ok(guard) => check(&guard),
            Err(poisoned) => check(&poisoned.into_inner()),
        }
    }

    /// The listed entries, sorted.
    pub fn entries(&self) -> Vec<SkipEntry> {
        let mut v: Vec<_> = match self.inner.read() {
            Ok(guard) => guard.iter().cloned().collect(),
            Err(poisoned) => poisoned.into_inner().iter().cloned().collect(),
        };
        v.sort();
        v
    }

    /// Number of listed messages.
    pub fn len(&self) -> usize {
        match self.inner.read() {
            Ok(guard) => guard.len(),
            Err(poisoned) => poisoned.into_inner().len(),
        }
    }

    /// Whether nothing is listed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entries_and_rejects_garbage() {
        let good = [
            ("t:0:0", MessageCoordinates::new("t", 0, 0)),
            (
                " my.topic_x-1:12:99 ",
                MessageCoordinates::new("my.topic_x-1", 12, 99),
            ),
        ];
        for (text, expected) in good {
            assert_eq!(text.parse::<MessageCoordinates>().unwrap(), expected);
        }
        let bad = [
            ("", "missing partition"),
            ("12", "missing partition"),
            ("0:12", "missing topic"),
            (":0:12", "empty topic"),
            ("t:x:12", "partition is not an integer"),
            ("t:0:y", "offset is not an integer"),
            ("t:-1:3", "partition and offset must not be negative"),
        ];
        for (text, problem) in bad {
            let e = text.parse::<MessageCoordinates>().unwrap_err();
            assert_eq!(e.problem, problem, "{text}");
            assert!(e.to_string().contains("topic:partition:offset"));
        }
    }

    #[test]
    fn the_previous_services_bare_offsets_and_partition_offsets_are_entries() {
        let list = SkipList::parse("1042, 3:77,jira:1:5").unwrap();
        assert!(list.contains("jira", 0, 1042) && list.contains("jira", 9, 1042));
        assert!(list.contains("jira", 3, 77) && !list.contains("jira", 2, 77));
        assert!(list.contains("jira", 1, 5) && !list.contains("other", 1, 5));
        assert!(!list.contains("jira", 0, 1043));
        let bad = [
            ("", "offset is not an integer"),
            ("x", "offset is not an integer"),
            ("3:x", "offset is not an integer"),
            ("y:3", "partition is not an integer"),
            (":0:12", "empty topic"),
            ("a:b:c:d", "too many `:`"),
            ("-1", "partition and offset must not be negative"),
            ("99999999999:1", "partition is out of range"),
        ];
        for (text, problem) in bad {
            let e = text.parse::<SkipEntry>().unwrap_err();
            assert_eq!(e.problem, problem, "{text}");
            assert!(e.to_string().contains("partition:offset"), "{e}");
        }
    }

    #[test]
    fn list_changes_are_seen_by_every_clone() {
        let list = SkipList::parse("a:1:5,\n b:2:6  ").unwrap();
        let clone = list.clone();
        assert_eq!(clone.len(), 2);
        assert!(clone.contains("a", 1, 5));
        assert!(!clone.contains("a", 2, 5), "partition must match");
        assert!(!clone.contains("b", 1, 5), "topic must match");
        list.set(vec![MessageCoordinates::new("c", 0, 1).into()]);
        assert!(!clone.contains("a", 1, 5));
        assert!(clone.contains("c", 0, 1));
        assert_eq!(
            clone.entries(),
            vec![SkipEntry::from(MessageCoordinates::new("c", 0, 1))]
        );
        assert!(SkipList::parse("a:1:5,zz").is_err());
        assert!(SkipList::parse(" , ").unwrap().is_empty());
    }
}
