//! The redacting `Debug` of the generated messages that carry free text (`Case`,
//! `NewTimelineCell`, `FieldUpdate`; `build.rs` skips their derived `Debug`): lengths are
//! printed instead of the text, so logging a message cannot leak user data.

use crate::case_management::v1;
use std::fmt;

struct Redacted(usize);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0)
    }
}

/// A field printed as it is.
fn shown<T>(value: &T) -> &T {
    value
}

/// A text field printed as its length.
fn text(value: &str) -> Redacted {
    Redacted(value.len())
}

/// An optional text field printed as its length, when present.
fn optional_text(value: &Option<String>) -> Option<Redacted> {
    value.as_deref().map(text)
}

/// Writes the `Debug` of a message, one row a field in printing order with how it is
/// printed: [`shown`], [`text`] or [`optional_text`].
macro_rules! redacted_debug {
    ($message:ty, $name:literal { $($field:ident: $how:ident,)+ }) => {
        impl fmt::Debug for $message {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct($name)
                    $(.field(stringify!($field), &$how(&self.$field)))+
                    .finish()
            }
        }
    };
}

redacted_debug!(v1::Case, "Case" {
    id: shown,
    org_id: shown,
    version: shown,
    project_id: shown,
    title: text,
    description: text,
    priority: shown,
    status: shown,
    assignee_user_id: shown,
    due_date: shown,
    created_at: shown,
    third_party_links: shown,
    field_stamps: shown,
});

redacted_debug!(v1::NewTimelineCell, "NewTimelineCell" {
    org_id: shown,
    case_id: shown,
    idempotency_key: shown,
    author_id: shown,
    author_name: optional_text,
    body: text,
    internal: shown,
    source: shown,
    created_at: shown,
});

impl fmt::Debug for v1::FieldUpdate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = v1::CaseField::try_from(self.field)
            .map(|c| c.as_str_name())
            .unwrap_or("UNKNOWN");
        f.debug_struct("FieldUpdate")
            .field("field", &field)
            .field("value", &optional_text(&self.value))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::v1;

    #[test]
    fn debug_of_text_carrying_messages_hides_the_text() {
        let case = v1::Case {
            title: "secret title".into(),
            description: "secret description".into(),
            ..Default::default()
        };
        let cell = v1::NewTimelineCell {
            body: "secret body".into(),
            author_name: Some("Secret Person".into()),
            ..Default::default()
        };
        let update = v1::FieldUpdate {
            field: v1::CaseField::Title as i32,
            value: Some("secret value".into()),
        };
        let response = v1::GetCaseResponse { case: Some(case) };
        for printed in [
            format!("{response:?}"),
            format!("{cell:?}"),
            format!("{update:?}"),
        ] {
            assert!(!printed.contains("secret"), "{printed}");
            assert!(printed.contains("bytes>"), "{printed}");
        }
    }
}
