//! Configuration declared once: [`config_section!`](crate::config_section) declares one typed
//! struct per ini section whose fields carry their documentation, default and kind; from it
//! come the key table ([`ConfigSection::KEYS`]), the environment variable names
//! ([`env_var_for`]), `Default` (the documented defaults) and a typed parse from any
//! key → value lookup ([`ConfigSection::from_lookup`]) whose errors name the key, the bad
//! value and what is accepted. No I/O: where the values come from (file, environment, flags)
//! is the service shell's business.
//!
//! ```
//! use std::time::Duration;
//! use thirdparty_core::config::{ConfigSection, KeyKind};
//!
//! thirdparty_core::config_section! {
//!     /// The `[linear]` section.
//!     pub struct LinearSection in "linear" {
//!         /// Linear API key of the integration user.
//!         pub api_key: Option<String> = required, KeyKind::Secret;
//!         /// Requests per second towards Linear.
//!         pub rate: u32 = "10", KeyKind::Integer { min: 1, max: 100 };
//!         /// Per-request deadline.
//!         pub deadline_ms: Duration = "2000", KeyKind::Millis { min: 1, max: 60_000 };
//!     }
//! }
//!
//! assert_eq!(LinearSection::default().rate, 10);
//! assert_eq!(LinearSection::KEYS[1].key, "linear.rate");
//! let parsed = LinearSection::from_lookup(&|key| (key == "linear.rate").then_some("20"))?;
//! assert_eq!((parsed.rate, parsed.deadline_ms), (20, Duration::from_secs(2)));
//! let err = LinearSection::from_lookup(&|key| (key == "linear.rate").then_some("0"))
//!     .unwrap_err();
//! assert_eq!(err.to_string(), "config key `linear.rate` has invalid value \"0\": expected a whole number from 1 to 100");
//! # Ok::<(), thirdparty_core::config::InvalidValue>(())
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How a key's value is checked (and described in the documentation and in errors).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// Any text.
    Text,
    /// A secret: never printed (shown as `<redacted>`).
    Secret,
    /// An unsigned integer within `min..=max`.
    Integer {
        /// Smallest accepted value.
        min: u64,
        /// Largest accepted value.
        max: u64,
    },
    /// A duration in milliseconds within `min..=max` (checked like [`KeyKind::Integer`]).
    Millis {
        /// Smallest accepted value.
        min: u64,
        /// Largest accepted value.
        max: u64,
    },
    /// A duration in seconds within `min..=max` (checked like [`KeyKind::Integer`]).
    Seconds {
        /// Smallest accepted value.
        min: u64,
        /// Largest accepted value.
        max: u64,
    },
    /// `true` or `false` (also yes/no, on/off, 1/0).
    Bool,
    /// `host:port` with a numeric IP.
    SocketAddr,
    /// One of a fixed set of words.
    OneOf(&'static [&'static str]),
    /// A list whose entries the field's type parses ([`ConfigListItem`]); the text says what
    /// one entry looks like, e.g. "`topic:partition:offset` entries separated by commas".
    List(&'static str),
    /// A path to an existing file.
    File,
}

impl KeyKind {
    /// What a value of this kind looks like, for errors and documentation.
    pub fn expected(&self) -> String {
        match self {
            Self::Text | Self::Secret => "any text".to_owned(),
            Self::Integer { min, max } | Self::Millis { min, max } | Self::Seconds { min, max } => {
                format!("a whole number from {min} to {max}")
            }
            Self::Bool => "true or false".to_owned(),
            Self::SocketAddr => "an address like 127.0.0.1:8125".to_owned(),
            Self::OneOf(words) => format!("one of {}", words.join(", ")),
            Self::List(entries) => (*entries).to_owned(),
            Self::File => "the path of a readable file".to_owned(),
        }
    }

    /// Whether `value` (trimmed, non-empty) is of this kind. [`KeyKind::List`] entries are
    /// checked by the field's type, not here.
    pub fn accepts(&self, value: &str) -> bool {
        let value = value.trim();
        match self {
            Self::Text | Self::Secret | Self::List(_) => true,
            Self::Integer { min, max } | Self::Millis { min, max } | Self::Seconds { min, max } => {
                value
                    .parse::<u64>()
                    .is_ok_and(|n| (*min..=*max).contains(&n))
            }
            Self::Bool => parse_bool(value).is_some(),
            Self::SocketAddr => value.is_empty() || value.parse::<SocketAddr>().is_ok(),
            Self::OneOf(words) => words.contains(&value),
            Self::File => value.is_empty() || std::path::Path::new(value).is_file(),
        }
    }
}

/// One configuration key, as the documentation, the environment and unknown-key warnings see
/// it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyDef {
    /// `section.name` (the ini section, a dot, the key).
    pub key: &'static str,
    /// Default value; `None` means the key is required or optional without default.
    pub default: Option<&'static str>,
    /// Whether the reader cannot run without it.
    pub required: bool,
    /// How the value is checked.
    pub kind: KeyKind,
    /// One line of documentation.
    pub doc: &'static str,
}

impl KeyDef {
    /// The ini section (everything before the last dot).
    pub fn section(&self) -> &'static str {
        self.key.rsplit_once('.').map_or("", |(section, _)| section)
    }

    /// The key's name inside its section.
    pub fn name(&self) -> &'static str {
        self.key.rsplit_once('.').map_or(self.key, |(_, name)| name)
    }

    /// The environment variable that overrides it ([`env_var_for`]).
    pub fn env_var(&self) -> String {
        env_var_for(self.key)
    }
}

/// The environment variable that overrides `key`: `CASE_READER_` + the key upper-cased with
/// dots replaced by underscores (`kafka.brokers` → `CASE_READER_KAFKA_BROKERS`).
pub fn env_var_for(key: &str) -> String {
    let mut name = String::from("CASE_READER_");
    for c in key.chars() {
        name.push(match c {
            '.' | '-' => '_',
            c => c.to_ascii_uppercase(),
        });
    }
    name
}

/// A value a key cannot take. Retrying does not help: fix the value (the message says what
/// is accepted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config key `{key}` has invalid value {value:?}: expected {expected}")]
pub struct InvalidValue {
    /// The key (`section.name`).
    pub key: &'static str,
    /// The bad value, or the bad entry of a list (`<redacted>` for secrets).
    pub value: String,
    /// What is accepted.
    pub expected: String,
}

/// A key → value lookup: the value of a set key (possibly empty), `None` when unset.
pub type Lookup<'a> = dyn Fn(&str) -> Option<&'a str> + 'a;

/// One ini section declared with [`config_section!`](crate::config_section).
pub trait ConfigSection: Default + Sized {
    /// The ini section (`kafka`, `dd.kafka.consumer`).
    const SECTION: &'static str;
    /// Its keys, in declaration order.
    const KEYS: &'static [KeyDef];
    /// Types the section from `lookup`; unset keys take their declared default.
    fn from_lookup(lookup: &Lookup<'_>) -> Result<Self, InvalidValue>;
    /// The section's keys and checker, type-erased (for a shell holding many sections).
    const DECLARATION: SectionDeclaration = SectionDeclaration {
        section: Self::SECTION,
        keys: Self::KEYS,
        check: check_section::<Self>,
    };
}

fn check_section<S: ConfigSection>(lookup: &Lookup<'_>) -> Result<(), InvalidValue> {
    S::from_lookup(lookup).map(drop)
}

/// A section's keys and the check of its values, without its type: what a shell needs to
/// list, document and validate the union of its sections.
#[derive(Clone, Copy, Debug)]
pub struct SectionDeclaration {
    /// The ini section.
    pub section: &'static str,
    /// Its keys.
    pub keys: &'static [KeyDef],
    /// Types every key of the section from a lookup, keeping only the error.
    pub check: fn(&Lookup<'_>) -> Result<(), InvalidValue>,
}

/// A type a key's text parses into. A field's type is also `Default`: the value of an unset
/// key without default (`None`, empty).
pub trait ConfigValue: Sized {
    /// Parses a trimmed, non-empty value that passed its [`KeyKind`] check; the error says
    /// what is accepted.
    fn from_text(text: &str, kind: &KeyKind) -> Result<Self, Rejected>;
}

/// Why a value was refused by its type: the offending text (a list's bad entry, or the whole
/// value) and what is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The offending text; `None` = the whole value.
    pub entry: Option<String>,
    /// What is accepted.
    pub expected: String,
}

impl Rejected {
    fn whole(expected: impl Into<String>) -> Self {
        Self {
            entry: None,
            expected: expected.into(),
        }
    }
}

/// An entry of a [`KeyKind::List`] value.
pub trait ConfigListItem: Sized {
    /// Whether `c` separates entries (a comma by default).
    fn is_separator(c: char) -> bool {
        c == ','
    }
    /// Parses one trimmed, non-empty entry; the error says what is wrong with it.
    fn from_entry(entry: &str) -> Result<Self, String>;
}

impl ConfigListItem for String {
    fn from_entry(entry: &str) -> Result<Self, String> {
        Ok(entry.to_owned())
    }
}

impl<T: ConfigListItem> ConfigValue for Vec<T> {
    fn from_text(text: &str, kind: &KeyKind) -> Result<Self, Rejected> {
        text.split(T::is_separator)
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|entry| {
                T::from_entry(entry).map_err(|problem| Rejected {
                    entry: Some(entry.to_owned()),
                    expected: format!("{} ({problem})", kind.expected()),
                })
            })
            .collect()
    }
}

impl ConfigValue for String {
    fn from_text(text: &str, _: &KeyKind) -> Result<Self, Rejected> {
        Ok(text.to_owned())
    }
}

impl<T: ConfigValue> ConfigValue for Option<T> {
    fn from_text(text: &str, kind: &KeyKind) -> Result<Self, Rejected> {
        T::from_text(text, kind).map(Some)
    }
}

impl ConfigValue for bool {
    fn from_text(text: &str, kind: &KeyKind) -> Result<Self, Rejected> {
        parse_bool(text).ok_or_else(|| Rejected::whole(kind.expected()))
    }
}

impl ConfigValue for SocketAddr {
    fn from_text(text: &str, kind: &KeyKind) -> Result<Self, Rejected> {
        text.parse().map_err(|_| Rejected::whole(kind.expected()))
    }
}

impl ConfigValue for PathBuf {
    fn from_text(text: &str, _: &KeyKind) -> Result<Self, Rejected> {
        Ok(PathBuf::from(text))
    }
}

macro_rules! whole_numbers {
    ($($ty:ty),*) => {$(
        impl ConfigValue for $ty {
            fn from_text(text: &str, _: &KeyKind) -> Result<Self, Rejected> {
                text.parse()
                    .map_err(|_| Rejected::whole(concat!("a whole number that fits ", stringify!($ty))))
            }
        }
    )*};
}
whole_numbers!(u16, u32, u64, usize);

impl ConfigValue for Duration {
    fn from_text(text: &str, kind: &KeyKind) -> Result<Self, Rejected> {
        let n: u64 = text.parse().map_err(|_| Rejected::whole(kind.expected()))?;
        match kind {
            KeyKind::Seconds { .. } => Ok(Duration::from_secs(n)),
            KeyKind::Millis { .. } => Ok(Duration::from_millis(n)),
            _ => Err(Rejected::whole(
                "a duration key declared as KeyKind::Millis or KeyKind::Seconds",
            )),
        }
    }
}

/// Parses `true`/`false` (and yes/no, on/off, 1/0), case-insensitively.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// Types one field: the looked-up value (else the declared default), trimmed, checked against
/// `def.kind`, then parsed by `T`. Unset without default, or set to empty text where the
/// kind accepts it (text, addresses, files, lists), gives `T::default()` (`None`, empty):
/// an explicitly empty value is not replaced by the default.
/// What [`config_section!`](crate::config_section) expands to for every field.
pub fn parse_field<T: ConfigValue + Default>(
    lookup: &Lookup<'_>,
    def: &KeyDef,
) -> Result<T, InvalidValue> {
    let Some(text) = lookup(def.key).or(def.default).map(str::trim) else {
        return Ok(T::default());
    };
    let invalid = |value: &str, expected: String| InvalidValue {
        key: def.key,
        value: if def.kind == KeyKind::Secret {
            "<redacted>".to_owned()
        } else {
            value.to_owned()
        },
        expected,
    };
    if !def.kind.accepts(text) {
        return Err(invalid(text, def.kind.expected()));
    }
    if text.is_empty() {
        return Ok(T::default());
    }
    T::from_text(text, &def.kind)
        .map_err(|r| invalid(r.entry.as_deref().unwrap_or(text), r.expected))
}

/// The declared default of one field, typed; a default that does not parse (a declaration
/// mistake, which `from_lookup` with no keys reports) gives `T::default()`.
pub fn default_field<T: ConfigValue + Default>(def: &KeyDef) -> T {
    parse_field(&|_| None, def).unwrap_or_default()
}

/// Declares one ini section as a typed struct. Each field is
/// `/// one line of doc` `name: Type = DEFAULT, KIND;` where DEFAULT is a string literal, a
/// `{ block }` giving a `&'static str`, `unset` (no default) or `required` (no default, the
/// reader cannot run without it; type it `Option<_>` and check it where it is needed).
/// It implements [`ConfigSection`] and `Default`; see the [module](crate::config) example.
#[macro_export]
macro_rules! config_section {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident in $section:literal {
            $(
                #[doc = $doc:literal]
                $fvis:vis $field:ident : $ty:ty = $default:tt, $kind:expr;
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        $vis struct $name {
            $(
                #[doc = $doc]
                $fvis $field: $ty,
            )*
        }

        impl $crate::config::ConfigSection for $name {
            const SECTION: &'static str = $section;
            const KEYS: &'static [$crate::config::KeyDef] = &[$(
                $crate::config_section!(@key $section, $field, $default, $kind, $doc),
            )*];

            fn from_lookup(
                lookup: &$crate::config::Lookup<'_>,
            ) -> ::std::result::Result<Self, $crate::config::InvalidValue> {
                ::std::result::Result::Ok(Self {$(
                    $field: $crate::config::parse_field(
                        lookup,
                        &$crate::config_section!(@key $section, $field, $default, $kind, $doc),
                    )?,
                )*})
            }
        }

        impl ::std::default::Default for $name {
            fn default() -> Self {
                Self {$(
                    $field: $crate::config::default_field(
                        &$crate::config_section!(@key $section, $field, $default, $kind, $doc),
                    ),
                )*}
            }
        }
    };
    (@key $section:literal, $field:ident, $default:tt, $kind:expr, $doc:literal) => {
        $crate::config::KeyDef {
            key: concat!($section, ".", stringify!($field)),
            default: $crate::config_section!(@default $default),
            required: $crate::config_section!(@required $default),
            kind: $kind,
            doc: ::core::primitive::str::trim_ascii($doc),
        }
    };
    (@default required) => { ::std::option::Option::None };
    (@default unset) => { ::std::option::Option::None };
    (@default $default:tt) => { ::std::option::Option::Some($default) };
    (@required required) => { true };
    (@required $default:tt) => { false };
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARKER: &str = "(ours)";

    crate::config_section! {
        /// A section with a field of every kind.
        struct Sample in "sample.part" {
            /// Required text.
            needed: Option<String> = required, KeyKind::Text;
            /// A password.
            password: String = unset, KeyKind::Secret;
            /// A count.
            count: u32 = "3", KeyKind::Integer { min: 1, max: 10 };
            /// A wait.
            wait: Duration = "250", KeyKind::Millis { min: 0, max: 1000 };
            /// A period.
            period: Duration = "2", KeyKind::Seconds { min: 1, max: 60 };
            /// A switch.
            switch: bool = "true", KeyKind::Bool;
            /// An address.
            address: Option<SocketAddr> = unset, KeyKind::SocketAddr;
            /// A mode.
            mode: String = "a", KeyKind::OneOf(&["a", "b"]);
            /// Names.
            names: Vec<String> = "", KeyKind::List("names separated by commas");
            /// A marker.
            marker: String = { MARKER }, KeyKind::Text;
        }
    }

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> + 'a {
        move |key| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    #[test]
    fn keys_carry_section_default_kind_and_doc() {
        let keys = Sample::KEYS;
        assert_eq!(keys.len(), 10);
        assert_eq!(keys[0].key, "sample.part.needed");
        assert!(keys[0].required);
        assert_eq!(keys[0].default, None);
        assert_eq!(keys[2].default, Some("3"));
        assert_eq!(keys[2].doc, "A count.");
        assert_eq!(keys[9].default, Some("(ours)"));
        assert_eq!(keys[3].section(), "sample.part");
        assert_eq!(keys[3].name(), "wait");
        assert_eq!(keys[3].env_var(), "CASE_READER_SAMPLE_PART_WAIT");
        assert_eq!(Sample::DECLARATION.keys.len(), 10);
    }

    #[test]
    fn default_is_the_declared_defaults_and_equals_an_empty_parse() {
        let d = Sample::default();
        assert_eq!(d.needed, None);
        assert_eq!(d.count, 3);
        assert_eq!(d.wait, Duration::from_millis(250));
        assert_eq!(d.period, Duration::from_secs(2));
        assert!(d.switch);
        assert_eq!(d.mode, "a");
        assert!(d.names.is_empty());
        assert_eq!(d.marker, MARKER);
        assert_eq!(Sample::from_lookup(&|_| None).unwrap(), d);
    }

    #[test]
    fn values_are_typed() {
        let pairs = [
            ("sample.part.needed", "x"),
            ("sample.part.count", " 7 "),
            ("sample.part.switch", "off"),
            ("sample.part.address", "127.0.0.1:8125"),
            ("sample.part.names", "a, b,,c"),
        ];
        let s = Sample::from_lookup(&lookup(&pairs)).unwrap();
        assert_eq!(s.needed.as_deref(), Some("x"));
        assert_eq!(s.count, 7);
        assert!(!s.switch);
        assert_eq!(s.address, Some("127.0.0.1:8125".parse().unwrap()));
        assert_eq!(s.names, ["a", "b", "c"]);
    }

    #[test]
    fn errors_name_key_value_and_what_is_accepted() {
        let cases = [
            ("sample.part.count", "11", "a whole number from 1 to 10"),
            ("sample.part.wait", "soon", "a whole number from 0 to 1000"),
            ("sample.part.switch", "maybe", "true or false"),
            (
                "sample.part.address",
                "here",
                "an address like 127.0.0.1:8125",
            ),
            ("sample.part.mode", "c", "one of a, b"),
        ];
        for (key, value, expected) in cases {
            let pairs = [(key, value)];
            let err = Sample::from_lookup(&lookup(&pairs)).unwrap_err();
            assert_eq!(err.key, key);
            assert_eq!(err.value, value);
            assert_eq!(err.expected, expected);
        }
    }

    struct Even(u32);

    impl ConfigListItem for Even {
        fn is_separator(c: char) -> bool {
            c == ',' || c.is_whitespace()
        }
        fn from_entry(entry: &str) -> Result<Self, String> {
            match entry.parse::<u32>() {
                Ok(n) if n % 2 == 0 => Ok(Self(n)),
                _ => Err("not an even number".to_owned()),
            }
        }
    }

    #[test]
    fn list_errors_name_the_bad_entry_and_secrets_are_redacted() {
        let kind = KeyKind::List("even numbers");
        let parsed = Vec::<Even>::from_text("2 4,6", &kind).unwrap();
        assert_eq!(parsed.iter().map(|e| e.0).collect::<Vec<_>>(), [2, 4, 6]);
        let def = KeyDef {
            key: "s.evens",
            default: None,
            required: false,
            kind,
            doc: "",
        };
        let err = parse_field::<Vec<Even>>(&|_| Some("2, 3"), &def)
            .err()
            .unwrap();
        assert_eq!(err.value, "3");
        assert_eq!(err.expected, "even numbers (not an even number)");
        let secret = KeyDef {
            kind: KeyKind::Secret,
            ..def
        };
        assert_eq!(
            parse_field::<String>(&|_| Some("pw"), &secret).unwrap(),
            "pw"
        );
        let secret_number = KeyDef {
            key: "s.pin",
            default: None,
            required: false,
            kind: KeyKind::Secret,
            doc: "",
        };
        let err = parse_field::<u16>(&|_| Some("hunter2"), &secret_number).unwrap_err();
        assert_eq!(err.value, "<redacted>");
    }
}
