//! From a changelog's `to` side to the case value it writes, given the project's settings.
//! Shared by the filter (to decide `field_value_not_mapped`, `invalid_field_value`,
//! `no_change`) and the processor (to write exactly what the filter checked).

use crate::INTEGRATION;
use chrono::{DateTime, FixedOffset, NaiveDate};
use std::sync::Arc;
use thirdparty_core::{
    CaseApi, CaseField, Change, Changelog, FieldUpdate, FieldValue, FilteredReason, OrgId,
    ProjectSettings, SyncError, Text, UserId, UserQuery,
};

/// What a changelog writes.
pub(crate) enum Target<'c> {
    /// A field update computable without remote calls.
    Update(FieldUpdate),
    /// A new assignee (resolved through the Case API), `None` to unassign.
    Assignee(Option<&'c FieldValue>),
    /// A timeline comment.
    Comment,
}

/// Parses a due date: `YYYY-MM-DD`, an ISO 8601 / Jira date-time (its calendar date in its
/// own offset), or Jira's `2026-06-05 00:00:00.0`.
pub(crate) fn parse_due_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(d);
    }
    if let Ok(d) = DateTime::<FixedOffset>::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(s))
    {
        return Some(d.date_naive());
    }
    let (date, rest) = s.split_at_checked(10)?;
    if rest.starts_with(' ') || rest.starts_with('T') {
        return NaiveDate::parse_from_str(date, "%Y-%m-%d").ok();
    }
    None
}

/// The write a changelog makes, or the reason it cannot be made.
pub(crate) fn target<'c>(
    changelog: &'c Changelog,
    settings: &ProjectSettings,
) -> Result<Target<'c>, FilteredReason> {
    Ok(match &changelog.change {
        Change::Title(fc) => {
            let title = fc
                .to
                .as_ref()
                .and_then(|v| v.text.as_ref().map(Text::expose).or(v.id.as_deref()))
                .filter(|t| !t.trim().is_empty())
                .ok_or(FilteredReason::InvalidFieldValue)?;
            Target::Update(FieldUpdate::Title(Text::from(title)))
        }
        Change::Description(fc) => Target::Update(FieldUpdate::Description(
            fc.to
                .as_ref()
                .and_then(|v| v.text.clone())
                .unwrap_or_default(),
        )),
        Change::Priority(fc) => Target::Update(FieldUpdate::Priority(match &fc.to {
            None => None,
            Some(v) => Some(
                settings
                    .map_field_value(CaseField::Priority, v)
                    .ok_or(FilteredReason::FieldValueNotMapped)?
                    .to_owned(),
            ),
        })),
        Change::Status(fc) => {
            let to = fc.to.as_ref().ok_or(FilteredReason::InvalidFieldValue)?;
            Target::Update(FieldUpdate::Status(
                settings
                    .map_field_value(CaseField::Status, to)
                    .ok_or(FilteredReason::FieldValueNotMapped)?
                    .to_owned(),
            ))
        }
        Change::DueDate(fc) => Target::Update(FieldUpdate::DueDate(match &fc.to {
            None => None,
            Some(v) => {
                let raw =
                    v.id.as_deref()
                        .or_else(|| v.text.as_ref().map(Text::expose))
                        .unwrap_or("");
                Some(parse_due_date(raw).ok_or(FilteredReason::InvalidFieldValue)?)
            }
        })),
        Change::Assignee(fc) => Target::Assignee(fc.to.as_ref()),
        Change::Comment(_) => Target::Comment,
        Change::Unsupported { .. } => return Err(FilteredReason::UnsupportedChangelogType),
    })
}

/// Resolves a Jira user (account id or legacy username, then display name) to a Case
/// Management user.
pub(crate) async fn resolve_user(
    api: &Arc<dyn CaseApi>,
    org: OrgId,
    value: &FieldValue,
) -> Result<Option<UserId>, SyncError> {
    let query = UserQuery {
        integration: INTEGRATION.as_str().to_owned(),
        account_id: value.id.clone(),
        display_name: value.text.as_ref().map(|t| t.expose().to_owned()),
        email: None,
    };
    Ok(api.resolve_user(org, &query).await?)
}

#[cfg(test)]
mod tests {
    use super::parse_due_date;
    use chrono::NaiveDate;

    #[test]
    fn due_dates() {
        let d = NaiveDate::from_ymd_opt(2026, 6, 5);
        assert_eq!(parse_due_date("2026-06-05"), d);
        assert_eq!(parse_due_date("2026-06-05 00:00:00.0"), d);
        assert_eq!(parse_due_date("2026-06-05T23:30:00.000-0330"), d);
        assert_eq!(parse_due_date("2026-06-05T23:30:00Z"), d);
        assert_eq!(parse_due_date("5/Jun/26"), None);
        assert_eq!(parse_due_date("2026-13-01"), None);
        assert_eq!(parse_due_date("2026-06-05x"), None);
        assert_eq!(parse_due_date("日本語日本語日本語"), None);
    }
}
