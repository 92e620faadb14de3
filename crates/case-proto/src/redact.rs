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

impl fmt::Debug for v1::Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case")
            .field("id", &self.id)
            .field("org_id", &self.org_id)
            .field("version", &self.version)
            .field("project_id", &self.project_id)
            .field("title", &Redacted(self.title.len()))
            .field("description", &Redacted(self.description.len()))
            .field("priority", &self.priority)
            .field("status", &self.status)
            .field("assignee_user_id", &self.assignee_user_id)
            .field("due_date", &self.due_date)
            .field("created_at", &self.created_at)
            .field("third_party_links", &self.third_party_links)
            .field("field_stamps", &self.field_stamps)
            .finish()
    }
}

impl fmt::Debug for v1::NewTimelineCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewTimelineCell")
            .field("org_id", &self.org_id)
            .field("case_id", &self.case_id)
            .field("idempotency_key", &self.idempotency_key)
            .field("author_id", &self.author_id)
            .field(
                "author_name",
                &self.author_name.as_ref().map(|n| Redacted(n.len())),
            )
            .field("body", &Redacted(self.body.len()))
            .field("internal", &self.internal)
            .field("source", &self.source)
            .field("created_at", &self.created_at)
            .finish()
    }
}

impl fmt::Debug for v1::FieldUpdate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = v1::CaseField::try_from(self.field)
            .map(|c| c.as_str_name())
            .unwrap_or("UNKNOWN");
        f.debug_struct("FieldUpdate")
            .field("field", &field)
            .field("value", &self.value.as_ref().map(|v| Redacted(v.len())))
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
