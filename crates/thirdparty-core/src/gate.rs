//! [`check_project_settings`]: the project-settings checks every integration's filter runs
//! first, written once.

use crate::{Case, CaseField, Changelog, FilteredReason, ProjectSettings, SyncDirection};

/// How an integration reports a change whose field does not sync from the third party.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirectionRule {
    /// A project-wide `Disabled` direction is `project_sync_disabled` whatever the field's
    /// own direction; a field's own direction that does not pull is
    /// `field_jira_bi_sync_disabled`; a field without its own direction in a push-only
    /// project is `sync_direction_push_only` (Jira).
    FieldOverrideFirst,
    /// The field's effective direction ([`ProjectSettings::direction_for`]) decides:
    /// push-only is `sync_direction_push_only`, disabled is `project_sync_disabled`
    /// (ServiceNow).
    EffectiveDirection,
}

/// Runs the checks of a changelog against its case's project settings that every
/// integration shares, in this order, and returns the case field the change writes or the
/// first reason to skip it:
///
/// 1. `org_disabled`, `integration_disabled`, `project_sync_disabled` (the switches);
/// 2. `unsupported_changelog_type` — the change writes no case field;
/// 3. the field's direction, per [`DirectionRule`] (`field_jira_bi_sync_disabled`,
///    `sync_direction_push_only`, `project_sync_disabled`);
/// 4. `comment_sync_disabled` — a comment while the project does not sync comments;
/// 5. `created_before_start_syncing_from` — the **case** was created before the project's
///    `start_syncing_from` ([`Case::created_at`]; the event's own time does not matter, so
///    every flavor means the same thing whether or not its events carry a creation time);
/// 6. `case_closed` — the case is closed, the project freezes closed cases
///    ([`ProjectSettings::freeze_closed_cases`]) and the change is not a status change.
pub fn check_project_settings(
    changelog: &Changelog,
    case: &Case,
    settings: &ProjectSettings,
    rule: DirectionRule,
) -> Result<CaseField, FilteredReason> {
    use FilteredReason as R;
    if !settings.org_enabled {
        return Err(R::OrgDisabled);
    }
    if !settings.integration_enabled {
        return Err(R::IntegrationDisabled);
    }
    let project_disabled = rule == DirectionRule::FieldOverrideFirst
        && settings.sync_direction == SyncDirection::Disabled;
    if !settings.project_sync_enabled || project_disabled {
        return Err(R::ProjectSyncDisabled);
    }
    let field = changelog.case_field().ok_or(R::UnsupportedChangelogType)?;
    match rule {
        DirectionRule::FieldOverrideFirst => match settings.field_sync.get(&field) {
            Some(direction) if !direction.pulls() => return Err(R::FieldJiraBiSyncDisabled),
            None if settings.sync_direction == SyncDirection::OneWayPush => {
                return Err(R::SyncDirectionPushOnly);
            }
            Some(_) | None => {}
        },
        DirectionRule::EffectiveDirection => match settings.direction_for(field) {
            SyncDirection::Bidirectional | SyncDirection::OneWayPull => {}
            SyncDirection::OneWayPush => return Err(R::SyncDirectionPushOnly),
            SyncDirection::Disabled => return Err(R::ProjectSyncDisabled),
        },
    }
    if field == CaseField::Comment && !settings.comment_sync_enabled {
        return Err(R::CommentSyncDisabled);
    }
    if settings
        .start_syncing_from
        .is_some_and(|start| case.created_at < start)
    {
        return Err(R::CreatedBeforeStartSyncingFrom);
    }
    if settings.freeze_closed_cases && case.is_closed() && field != CaseField::Status {
        return Err(R::CaseClosed);
    }
    Ok(field)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Author, CaseId, CaseLocator, CaseVersion, Change, Comment, FieldChange, Integration, OrgId,
        ProjectId, Text, ThirdPartyRef,
    };
    use chrono::{DateTime, Duration, Utc};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn changelog(change: Change, event_time: &str) -> Changelog {
        Changelog {
            org_id: OrgId(1),
            integration: Integration::new("acme"),
            event_id: "acme:1".into(),
            third_party: ThirdPartyRef {
                account_id: "a".into(),
                project_id: None,
                item_type_id: None,
                item_id: "1".into(),
                item_key: None,
            },
            case_locator: CaseLocator::ThirdParty,
            event_time: at(event_time),
            sequence: None,
            author: Author::default(),
            change,
        }
    }

    fn case(created_at: &str) -> Case {
        Case {
            id: CaseId("c".into()),
            org_id: OrgId(1),
            version: CaseVersion(1),
            project_id: ProjectId("p".into()),
            title: Text::from("t"),
            description: Text::default(),
            priority: None,
            status: "OPEN".into(),
            assignee: None,
            due_date: None,
            created_at: at(created_at),
            third_party_links: vec![],
            field_stamps: Default::default(),
        }
    }

    fn title() -> Change {
        Change::Title(FieldChange::default())
    }

    fn comment() -> Change {
        Change::Comment(Comment {
            id: "9".into(),
            body: Text::from("hi"),
            internal: false,
        })
    }

    const RULES: [DirectionRule; 2] = [
        DirectionRule::FieldOverrideFirst,
        DirectionRule::EffectiveDirection,
    ];

    fn settings() -> ProjectSettings {
        ProjectSettings::enabled(OrgId(1), ProjectId("p".into()), "acme")
    }

    #[test]
    fn switches_come_first_in_every_flavor() {
        let c = changelog(title(), "2026-01-01T00:00:00Z");
        let case = case("2026-01-01T00:00:00Z");
        for rule in RULES {
            assert_eq!(
                check_project_settings(&c, &case, &settings(), rule),
                Ok(CaseField::Title)
            );
            for (switch, reason) in [
                (0, FilteredReason::OrgDisabled),
                (1, FilteredReason::IntegrationDisabled),
                (2, FilteredReason::ProjectSyncDisabled),
            ] {
                let mut s = settings();
                s.start_syncing_from = Some(at("2030-01-01T00:00:00Z"));
                match switch {
                    0 => s.org_enabled = false,
                    1 => s.integration_enabled = false,
                    _ => s.project_sync_enabled = false,
                }
                assert_eq!(
                    check_project_settings(&c, &case, &s, rule),
                    Err(reason),
                    "{rule:?}"
                );
            }
        }
    }

    #[test]
    fn start_syncing_from_compares_the_case_creation_not_the_event_time() {
        let mut s = settings();
        s.start_syncing_from = Some(at("2025-01-01T00:00:00Z"));
        let old_event = changelog(title(), "2024-06-01T00:00:00Z");
        let new_event = changelog(title(), "2026-06-01T00:00:00Z");
        let new_case = case("2025-01-01T00:00:00Z");
        let old_case = case("2025-01-01T00:00:00Z");
        let old_case = Case {
            created_at: old_case.created_at - Duration::seconds(1),
            ..old_case
        };
        for rule in RULES {
            assert_eq!(
                check_project_settings(&old_event, &new_case, &s, rule),
                Ok(CaseField::Title),
                "an old event on a case created at the start syncs ({rule:?})"
            );
            assert_eq!(
                check_project_settings(&new_event, &old_case, &s, rule),
                Err(FilteredReason::CreatedBeforeStartSyncingFrom),
                "a new event on a case created before the start does not ({rule:?})"
            );
        }
    }

    #[test]
    fn a_frozen_closed_case_takes_only_a_status_change() {
        let mut s = settings();
        let mut closed = case("2026-01-01T00:00:00Z");
        closed.status = crate::CLOSED_STATUS.into();
        let title_change = changelog(title(), "2026-01-01T00:00:00Z");
        let reopen = changelog(
            Change::Status(FieldChange::default()),
            "2026-01-01T00:00:00Z",
        );
        for rule in RULES {
            assert_eq!(
                check_project_settings(&title_change, &closed, &s, rule),
                Ok(CaseField::Title),
                "closed cases take updates unless the project freezes them"
            );
            s.freeze_closed_cases = true;
            assert_eq!(
                check_project_settings(&title_change, &closed, &s, rule),
                Err(FilteredReason::CaseClosed)
            );
            assert_eq!(
                check_project_settings(&reopen, &closed, &s, rule),
                Ok(CaseField::Status),
                "a status change may reopen it"
            );
            let open = case("2026-01-01T00:00:00Z");
            assert_eq!(
                check_project_settings(&title_change, &open, &s, rule),
                Ok(CaseField::Title)
            );
            s.freeze_closed_cases = false;
        }
    }

    #[test]
    fn comment_switch_precedes_the_sync_window() {
        let mut s = settings();
        s.comment_sync_enabled = false;
        s.start_syncing_from = Some(at("2030-01-01T00:00:00Z"));
        let case = case("2026-01-01T00:00:00Z");
        for rule in RULES {
            let got = check_project_settings(
                &changelog(comment(), "2026-01-01T00:00:00Z"),
                &case,
                &s,
                rule,
            );
            assert_eq!(got, Err(FilteredReason::CommentSyncDisabled));
        }
    }

    #[test]
    fn direction_rules_differ_only_in_how_they_name_the_skip() {
        let c = changelog(title(), "2026-01-01T00:00:00Z");
        let case = case("2026-01-01T00:00:00Z");
        let check = |project: SyncDirection, field: Option<SyncDirection>, rule| {
            let mut s = settings();
            s.sync_direction = project;
            if let Some(d) = field {
                s.field_sync.insert(CaseField::Title, d);
            }
            check_project_settings(&c, &case, &s, rule)
        };
        use DirectionRule::{EffectiveDirection as Effective, FieldOverrideFirst as Override};
        use FilteredReason as R;
        use SyncDirection::{
            Bidirectional as Bi, Disabled, OneWayPull as Pull, OneWayPush as Push,
        };
        let table = [
            // project, field, Jira rule, ServiceNow rule
            (Bi, None, Ok(CaseField::Title), Ok(CaseField::Title)),
            (
                Push,
                None,
                Err(R::SyncDirectionPushOnly),
                Err(R::SyncDirectionPushOnly),
            ),
            (
                Disabled,
                None,
                Err(R::ProjectSyncDisabled),
                Err(R::ProjectSyncDisabled),
            ),
            (
                Bi,
                Some(Push),
                Err(R::FieldJiraBiSyncDisabled),
                Err(R::SyncDirectionPushOnly),
            ),
            (
                Bi,
                Some(Disabled),
                Err(R::FieldJiraBiSyncDisabled),
                Err(R::ProjectSyncDisabled),
            ),
            (Push, Some(Pull), Ok(CaseField::Title), Ok(CaseField::Title)),
            (
                Disabled,
                Some(Bi),
                Err(R::ProjectSyncDisabled),
                Ok(CaseField::Title),
            ),
        ];
        for (project, field, jira, servicenow) in table {
            assert_eq!(
                check(project, field, Override),
                jira,
                "{project:?} {field:?}"
            );
            assert_eq!(
                check(project, field, Effective),
                servicenow,
                "{project:?} {field:?}"
            );
        }
    }
}
