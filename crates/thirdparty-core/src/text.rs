//! [`Text`]: free text written by people (comments, descriptions) that must never reach logs.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Free text written by a person: a comment body, a description, a title.
///
/// Its `Debug` prints only the length, and it has no `Display`, so a log line or an error
/// message that formats a [`crate::Changelog`] or a [`crate::Case`] cannot leak it. Read the
/// text on purpose with [`Text::expose`].
///
/// ```
/// let t = thirdparty_core::Text::new("secret customer data");
/// assert_eq!(format!("{t:?}"), "Text(<20 bytes>)");
/// assert_eq!(t.expose(), "secret customer data");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Text(String);

impl Text {
    /// Wraps a string.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The text itself. Call this only where the text is needed (applying it to a case,
    /// comparing it); never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Consumes the wrapper and returns the text.
    pub fn into_inner(self) -> String {
        self.0
    }

    /// Whether the text is empty or only white space.
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Text(<{} bytes>)", self.0.len())
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Self(s)
    }
}
