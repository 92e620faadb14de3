//! From a changelog to the case value it writes, given the project's settings. Shared by
//! the filter (to decide `field_value_not_mapped`, `invalid_field_value`, `no_change`) and
//! the processor (to write exactly what the filter checked).

use crate::INTEGRATION;
use chrono::NaiveDate;
use thirdparty_core::{
    Case, CaseField, Change, Changelog, FieldUpdate, FieldValue, FilteredReason, ProjectSettings,
    Text, UserQuery,
};

/// What a changelog writes.
pub(crate) enum Target<'c> {
    /// A field update computable without remote calls.
    Update(FieldUpdate),
    /// A new assignee login (resolved through the Case API), `None` to unassign.
    Assignee(Option<&'c str>),
    /// A timeline comment.
    Comment,
}

fn mapped<'s>(
    settings: &'s ProjectSettings,
    field: CaseField,
    value: &FieldValue,
) -> Result<&'s str, FilteredReason> {
    settings
        .map_field_value(field, value)
        .ok_or(FilteredReason::FieldValueNotMapped)
}

/// The write a changelog makes on `case`, or the reason it cannot (or need not) be made.
pub(crate) fn target<'c>(
    changelog: &'c Changelog,
    case: &Case,
    settings: &ProjectSettings,
) -> Result<Target<'c>, FilteredReason> {
    let text = |v: &Option<FieldValue>| v.as_ref().and_then(|v| v.text.clone()).unwrap_or_default();
    Ok(Target::Update(match &changelog.change {
        Change::Title(fc) => {
            let title = text(&fc.to);
            if title.is_blank() {
                return Err(FilteredReason::InvalidFieldValue);
            }
            FieldUpdate::Title(Text::new(title.expose().trim()))
        }
        Change::Description(fc) => FieldUpdate::Description(text(&fc.to)),
        Change::Status(fc) => {
            let to = fc.to.as_ref().ok_or(FilteredReason::InvalidFieldValue)?;
            FieldUpdate::Status(mapped(settings, CaseField::Status, to)?.to_owned())
        }
        // `labeled`: the label's priority. `unlabeled`: clears the priority when the removed
        // label is the one the case has.
        Change::Priority(fc) => match (&fc.to, &fc.from) {
            (Some(to), _) => {
                FieldUpdate::Priority(Some(mapped(settings, CaseField::Priority, to)?.to_owned()))
            }
            (None, Some(from)) => {
                let removed = mapped(settings, CaseField::Priority, from)?;
                if case.priority.as_deref() != Some(removed) {
                    return Err(FilteredReason::NoChange);
                }
                FieldUpdate::Priority(None)
            }
            (None, None) => return Err(FilteredReason::InvalidFieldValue),
        },
        Change::DueDate(fc) => {
            FieldUpdate::DueDate(match fc.to.as_ref().and_then(FieldValue::id_or_text) {
                None => None,
                Some(day) => Some(
                    NaiveDate::parse_from_str(day, "%Y-%m-%d")
                        .map_err(|_| FilteredReason::InvalidFieldValue)?,
                ),
            })
        }
        Change::Assignee(fc) => {
            return Ok(Target::Assignee(
                fc.to.as_ref().and_then(|v| v.id.as_deref()),
            ));
        }
        Change::Comment(_) => return Ok(Target::Comment),
        Change::Unsupported { .. } => return Err(FilteredReason::UnsupportedChangelogType),
    }))
}

/// The `resolve_user` query of a GitHub login (a Case Management user lists its GitHub
/// logins among its account ids).
pub(crate) fn login_query(login: &str) -> UserQuery {
    UserQuery {
        account_id: Some(login.to_owned()),
        integration: INTEGRATION.as_str().to_owned(),
        ..UserQuery::default()
    }
}
