//! [`Pipeline`]: decode → prefilter → case + settings lookup → filter → process, for one
//! [`Payload`], with one [`ChangelogOutcome`] per changelog.

use crate::{
    Case, CaseApi, CaseLocator, Changelog, ChangelogType, DecodeError, Decoded, Decoder,
    FilterVerdict, FilteredReason, Filterer, Integration, OrgId, Payload, PreFiltered, Processed,
    Processor, ProjectSettings, SyncError,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tracing::{Instrument, info_span};

/// What happened to one changelog (or to a payload that did not decode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Applied to the case.
    Processed {
        /// Applied although `from` did not match (policy `third_party_wins`).
        overridden_conflict: bool,
    },
    /// Passed every filter; not applied because the pipeline runs dry.
    WouldApply {
        /// Would be applied although `from` did not match.
        overridden_conflict: bool,
    },
    /// Skipped, with its reason.
    Filtered(FilteredReason),
    /// The payload did not decode: counted, and the payload answered
    /// [`Disposition::DeadLetter`].
    DecodeFailed(DecodeError),
    /// A permanent error (invalid argument, malformed after decoding): not applied, counted,
    /// and the payload answered [`Disposition::DeadLetter`] (parked when the runtime has a
    /// dead-letter topic).
    PermanentError(SyncError),
    /// A transient error: handle the whole payload again later. Changelogs of the payload
    /// after this one were not attempted.
    RetryNeeded(SyncError),
}

impl Outcome {
    /// A short stable label: `processed`, `would_apply`, `filtered`, `decode_failed`,
    /// `permanent_error`, `retry_needed`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Processed { .. } => "processed",
            Self::WouldApply { .. } => "would_apply",
            Self::Filtered(_) => "filtered",
            Self::DecodeFailed(_) => "decode_failed",
            Self::PermanentError(_) => "permanent_error",
            Self::RetryNeeded(_) => "retry_needed",
        }
    }
}

/// One outcome with what is known about its changelog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangelogOutcome {
    /// Organisation, when decoding got that far.
    pub org_id: Option<OrgId>,
    /// Change type, when decoding got that far.
    pub changelog_type: Option<ChangelogType>,
    /// Stable change id, when decoded.
    pub event_id: Option<String>,
    /// Third-party item key (e.g. `PROJ-12`), when decoded.
    pub item_key: Option<String>,
    /// Third-party account (Jira site id, ServiceNow instance), when decoded.
    pub account_id: Option<String>,
    /// Third-party project id (Jira), when decoded and known.
    pub project_id: Option<String>,
    /// Author's third-party id, when decoded and known.
    pub author_id: Option<String>,
    /// Third-party event time, when decoded.
    pub event_time: Option<DateTime<Utc>>,
    /// What happened.
    pub outcome: Outcome,
}

impl ChangelogOutcome {
    /// An outcome decided before a changelog existed (decode failure, decoder skip).
    pub fn undecoded(
        org_id: Option<OrgId>,
        changelog_type: Option<ChangelogType>,
        event_time: Option<DateTime<Utc>>,
        outcome: Outcome,
    ) -> Self {
        Self {
            org_id,
            changelog_type,
            event_id: None,
            item_key: None,
            account_id: None,
            project_id: None,
            author_id: None,
            event_time,
            outcome,
        }
    }

    /// The outcome of a decoded changelog.
    pub fn of(changelog: &Changelog, outcome: Outcome) -> Self {
        Self {
            org_id: Some(changelog.org_id),
            changelog_type: Some(changelog.changelog_type()),
            event_id: Some(changelog.event_id.clone()),
            item_key: changelog.third_party.item_key.clone(),
            account_id: Some(changelog.third_party.account_id.clone()),
            project_id: changelog.third_party.project_id.clone(),
            author_id: changelog.author.id.clone(),
            event_time: Some(changelog.event_time),
            outcome,
        }
    }
}

/// Every outcome of one payload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PayloadReport {
    /// One per changelog (or one `DecodeFailed`), in order.
    pub outcomes: Vec<ChangelogOutcome>,
}

impl PayloadReport {
    /// The transient error that requires the payload to be handled again, if any.
    pub fn retry_error(&self) -> Option<&SyncError> {
        self.outcomes.iter().find_map(|o| match &o.outcome {
            Outcome::RetryNeeded(e) => Some(e),
            _ => None,
        })
    }

    /// What the payload's outcomes mean for its acknowledgement: [`Disposition::Retry`] when
    /// any outcome needs a retry; else [`Disposition::DeadLetter`] when it did not decode
    /// ([`DeadLetterReason::DecodeFailed`], kind of the [`DecodeError`]) or a changelog hit a
    /// permanent error ([`DeadLetterReason::PermanentError`], [`SyncError::kind`]); else
    /// [`Disposition::Ack`]. Filtered changelogs are decisions: acknowledged, never parked.
    ///
    /// ```
    /// use thirdparty_core::{ChangelogOutcome, DeadLetterReason, Disposition, Outcome, PayloadReport, SyncError};
    /// let invalid = ChangelogOutcome::undecoded(None, None, None,
    ///     Outcome::PermanentError(SyncError::Invalid("no item key".into())));
    /// let report = PayloadReport { outcomes: vec![invalid] };
    /// assert!(matches!(report.disposition(),
    ///     Disposition::DeadLetter { reason: DeadLetterReason::PermanentError, ref error_kind, .. }
    ///         if error_kind == "invalid_changelog"));
    /// assert_eq!(PayloadReport::default().disposition(), Disposition::Ack);
    /// ```
    pub fn disposition(&self) -> Disposition {
        if let Some(e) = self.retry_error() {
            return Disposition::Retry {
                reason: e.to_string(),
            };
        }
        let decode_failed = self.outcomes.iter().find_map(|o| match &o.outcome {
            Outcome::DecodeFailed(e) => Some(e),
            _ => None,
        });
        if let Some(e) = decode_failed {
            return Disposition::DeadLetter {
                reason: DeadLetterReason::DecodeFailed,
                error_kind: e.kind().to_owned(),
                error: e.to_string(),
            };
        }
        let permanent = self.outcomes.iter().find_map(|o| match &o.outcome {
            Outcome::PermanentError(e) => Some(e),
            _ => None,
        });
        match permanent {
            Some(e) => Disposition::DeadLetter {
                reason: DeadLetterReason::PermanentError,
                error_kind: e.kind().to_owned(),
                error: e.to_string(),
            },
            None => Disposition::Ack,
        }
    }
}

/// Receives every outcome the pipeline produces, e.g. to emit metrics and logs
/// (`observability` implements it). The default does nothing.
pub trait Telemetry: Send + Sync {
    /// Called once per outcome, after it is final.
    fn record(&self, integration: Integration, payload: &Payload, outcome: &ChangelogOutcome);
}

/// A [`Telemetry`] that records nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTelemetry;

impl Telemetry for NoTelemetry {
    fn record(&self, _: Integration, _: &Payload, _: &ChangelogOutcome) {}
}

/// Whether a handled payload may be acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Done (applied or filtered): acknowledge it.
    Ack,
    /// A transient failure: handle it again later; do not acknowledge past it.
    Retry {
        /// What failed, for logs.
        reason: String,
    },
    /// Done, but not applied because of what the message is (it did not decode, or hit a
    /// permanent error): acknowledge it once a copy is parked. A runtime with a dead-letter
    /// topic produces the message there before acknowledging it; without one it acks.
    DeadLetter {
        /// Why it was not applied.
        reason: DeadLetterReason,
        /// A stable snake_case kind of the error (`not_json`, `invalid_argument`, …).
        error_kind: String,
        /// The error, for the operator reading the parked copy.
        error: String,
    },
}

/// Why a message was acknowledged without being applied: the reasons a copy is parked in
/// the dead-letter topic. Filtered events are decisions, not failures, and have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeadLetterReason {
    /// The payload did not decode.
    DecodeFailed,
    /// A changelog hit a permanent error (`INVALID_ARGUMENT`, malformed after decoding).
    PermanentError,
    /// An operator listed the message in `skip_messages`.
    SkipListed,
}

impl DeadLetterReason {
    /// Every reason, in a stable order.
    pub const ALL: [Self; 3] = [Self::DecodeFailed, Self::PermanentError, Self::SkipListed];

    /// The stable label used in headers, metrics and `--reason`: `decode_failed`,
    /// `permanent_error`, `skip_listed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DecodeFailed => "decode_failed",
            Self::PermanentError => "permanent_error",
            Self::SkipListed => "skip_listed",
        }
    }

    /// The reason labelled `label`, if any.
    ///
    /// ```
    /// use thirdparty_core::DeadLetterReason;
    /// for r in DeadLetterReason::ALL {
    ///     assert_eq!(DeadLetterReason::parse(r.as_str()), Some(r));
    /// }
    /// assert_eq!(DeadLetterReason::parse("filtered"), None);
    /// ```
    pub fn parse(label: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == label)
    }
}

impl std::fmt::Display for DeadLetterReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Anything that handles one [`Payload`] at a time. `kafka-runtime` drives any
/// implementation of this trait, so a platform team can run its own handler on it.
#[async_trait]
pub trait PayloadHandler: Send + Sync {
    /// Handles one payload. Called again with the same payload after a `Retry`.
    async fn handle(&self, payload: &Payload) -> Disposition;
}

/// The integration-agnostic sync pipeline. Build it from an integration's decoder,
/// filterer and processor plus a [`CaseApi`]; call [`Pipeline::run`] per payload, or use it
/// as a [`PayloadHandler`].
///
/// No Kafka in it: any consumer can feed it. See the crate docs for a full example.
pub struct Pipeline {
    decoder: Arc<dyn Decoder>,
    filterer: Arc<dyn Filterer>,
    processor: Arc<dyn Processor>,
    api: Arc<dyn CaseApi>,
    telemetry: Arc<dyn Telemetry>,
    dry_run: bool,
    handler_span: String,
}

impl Pipeline {
    /// A pipeline for the decoder's integration.
    pub fn new(
        decoder: Arc<dyn Decoder>,
        filterer: Arc<dyn Filterer>,
        processor: Arc<dyn Processor>,
        api: Arc<dyn CaseApi>,
    ) -> Self {
        let handler_span = format!("handler_{}", decoder.integration());
        Self {
            decoder,
            filterer,
            processor,
            api,
            telemetry: Arc::new(NoTelemetry),
            dry_run: false,
            handler_span,
        }
    }

    /// Sends every outcome to `telemetry`.
    #[must_use]
    pub fn with_telemetry(mut self, telemetry: Arc<dyn Telemetry>) -> Self {
        self.telemetry = telemetry;
        self
    }

    /// Runs every step but the processor: changelogs that pass come out as
    /// [`Outcome::WouldApply`] and nothing is written.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// The integration this pipeline serves.
    pub fn integration(&self) -> Integration {
        self.decoder.integration()
    }

    /// Handles one payload and reports every outcome (also sent to the telemetry).
    pub async fn run(&self, payload: &Payload) -> PayloadReport {
        let integration = self.integration();
        let span = info_span!(
            "handler",
            otel.name = %self.handler_span,
            flavor = integration.as_str(),
            topic = %payload.topic,
            partition = payload.partition,
            offset = payload.offset,
        );
        let report = self.run_inner(payload).instrument(span).await;
        for outcome in &report.outcomes {
            self.telemetry.record(integration, payload, outcome);
        }
        report
    }

    async fn run_inner(&self, payload: &Payload) -> PayloadReport {
        let decoded = {
            let _span = info_span!("decode_event").entered();
            self.decoder.decode(payload)
        };
        let decoded = match decoded {
            Ok(d) => d,
            Err(e) => {
                return PayloadReport {
                    outcomes: vec![ChangelogOutcome::undecoded(
                        None,
                        None,
                        None,
                        Outcome::DecodeFailed(e),
                    )],
                };
            }
        };
        let mut outcomes = Vec::with_capacity(decoded.len());
        for item in decoded {
            let outcome = match item {
                Decoded::Skipped(s) => ChangelogOutcome::undecoded(
                    s.org_id,
                    s.changelog_type,
                    s.event_time,
                    Outcome::Filtered(s.reason),
                ),
                Decoded::Changelog(c) => self.handle_changelog(c).await,
            };
            let stop = matches!(outcome.outcome, Outcome::RetryNeeded(_));
            outcomes.push(outcome);
            if stop {
                break;
            }
        }
        PayloadReport { outcomes }
    }

    async fn handle_changelog(&self, changelog: Changelog) -> ChangelogOutcome {
        let prefiltered = self
            .filterer
            .prefilter(changelog.clone())
            .instrument(info_span!("prefilter_third_party_changelog"))
            .await;
        let changelog = match prefiltered {
            Ok(PreFiltered::Keep(c)) => c,
            Ok(PreFiltered::Skip(reason)) => {
                return ChangelogOutcome::of(&changelog, Outcome::Filtered(reason));
            }
            Err(e) => return ChangelogOutcome::of(&changelog, error_outcome(e)),
        };
        let outcome = self
            .filter_and_process(&changelog)
            .await
            .unwrap_or_else(error_outcome);
        ChangelogOutcome::of(&changelog, outcome)
    }

    async fn filter_and_process(&self, changelog: &Changelog) -> Result<Outcome, SyncError> {
        let mut stale_case = None;
        // One re-read and re-filter after a version conflict, then give up with
        // `case_version_mismatch` (the previous service's optimistic-locking contract).
        for _attempt in 0..2 {
            let (case, settings, overridden_conflict) = match self
                .lookup_and_filter(changelog, stale_case.take())
                .instrument(info_span!("filter_third_party_changelog"))
                .await?
            {
                Ok(passed) => passed,
                Err(reason) => return Ok(Outcome::Filtered(reason)),
            };
            if self.dry_run {
                return Ok(Outcome::WouldApply {
                    overridden_conflict,
                });
            }
            let processed = self
                .processor
                .process(changelog, &case, &settings)
                .instrument(info_span!("process_changelog"))
                .await;
            match processed {
                Ok(Processed::Applied) => {
                    return Ok(Outcome::Processed {
                        overridden_conflict,
                    });
                }
                Ok(Processed::Skipped(reason)) => return Ok(Outcome::Filtered(reason)),
                Err(e) if e.is_version_conflict() => stale_case = Some(case),
                Err(e) => return Err(e),
            }
        }
        Ok(Outcome::Filtered(FilteredReason::CaseVersionMismatch))
    }

    /// Finds the case (re-reading `stale` by id after a conflict) and its settings, then
    /// filters. `Ok(Err(reason))` is a skip.
    async fn lookup_and_filter(
        &self,
        changelog: &Changelog,
        stale: Option<Case>,
    ) -> Result<Result<(Case, ProjectSettings, bool), FilteredReason>, SyncError> {
        let case = match stale {
            Some(stale) => {
                self.api
                    .get_case(changelog.org_id, &stale.id)
                    .instrument(info_span!("get_case"))
                    .await?
            }
            None => self.find_case(changelog).await?,
        };
        // A case of another organisation is never a match, whatever the lookup returned.
        let Some(case) = case.filter(|c| c.org_id == changelog.org_id) else {
            return Ok(Err(self.filterer.case_not_found_reason(changelog)));
        };
        let Some(settings) = self
            .api
            .get_project_settings(case.org_id, &case.project_id, self.integration().as_str())
            .instrument(info_span!("get_settings"))
            .await?
        else {
            return Ok(Err(FilteredReason::ProjectNotFound));
        };
        Ok(
            match self.filterer.filter(changelog, &case, &settings).await? {
                FilterVerdict::Skip(reason) => Err(reason),
                FilterVerdict::Apply => Ok((case, settings, false)),
                FilterVerdict::ApplyOverridingConflict => Ok((case, settings, true)),
            },
        )
    }

    async fn find_case(&self, changelog: &Changelog) -> Result<Option<Case>, SyncError> {
        let span = info_span!("get_case");
        let found = match &changelog.case_locator {
            CaseLocator::CaseId(id) => {
                self.api
                    .get_case(changelog.org_id, id)
                    .instrument(span)
                    .await?
            }
            CaseLocator::ThirdParty => {
                self.api
                    .find_case_by_third_party(
                        changelog.org_id,
                        self.integration().as_str(),
                        &changelog.third_party,
                    )
                    .instrument(span)
                    .await?
            }
        };
        Ok(found)
    }
}

fn error_outcome(e: SyncError) -> Outcome {
    if e.is_retryable() {
        Outcome::RetryNeeded(e)
    } else {
        Outcome::PermanentError(e)
    }
}

#[async_trait]
impl PayloadHandler for Pipeline {
    async fn handle(&self, payload: &Payload) -> Disposition {
        self.run(payload).await.disposition()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CaseApiError, DecodeErrorKind};

    fn report(outcomes: Vec<Outcome>) -> PayloadReport {
        PayloadReport {
            outcomes: outcomes
                .into_iter()
                .map(|o| ChangelogOutcome::undecoded(None, None, None, o))
                .collect(),
        }
    }

    fn unavailable() -> SyncError {
        SyncError::CaseApi(CaseApiError::Unavailable {
            rpc: "GetCase",
            message: "down".into(),
        })
    }

    fn invalid_argument() -> SyncError {
        SyncError::CaseApi(CaseApiError::InvalidArgument {
            rpc: "UpdateCase",
            message: "bad field".into(),
        })
    }

    fn not_json() -> DecodeError {
        DecodeError::new(
            Integration::new("jira"),
            DecodeErrorKind::NOT_JSON,
            "$",
            "expected a JSON object",
        )
    }

    fn dead_letter(d: &Disposition) -> Option<(DeadLetterReason, &str, &str)> {
        match d {
            Disposition::DeadLetter {
                reason,
                error_kind,
                error,
            } => Some((*reason, error_kind, error)),
            _ => None,
        }
    }

    #[test]
    fn a_retry_wins_over_a_permanent_error() {
        let d = report(vec![
            Outcome::PermanentError(invalid_argument()),
            Outcome::RetryNeeded(unavailable()),
        ])
        .disposition();
        assert!(
            matches!(d, Disposition::Retry { ref reason } if reason.contains("GetCase")),
            "{d:?}"
        );
    }

    #[test]
    fn an_undecodable_payload_is_dead_lettered_with_its_kind() {
        let d = report(vec![Outcome::DecodeFailed(not_json())]).disposition();
        let (reason, kind, error) = dead_letter(&d).unwrap_or_else(|| panic!("{d:?}"));
        assert_eq!(reason, DeadLetterReason::DecodeFailed);
        assert_eq!(kind, "not_json");
        assert_eq!(error, not_json().to_string());
    }

    #[test]
    fn a_permanent_error_is_dead_lettered_with_the_sync_error_kind() {
        let d = report(vec![
            Outcome::Processed {
                overridden_conflict: false,
            },
            Outcome::PermanentError(invalid_argument()),
        ])
        .disposition();
        let (reason, kind, error) = dead_letter(&d).unwrap_or_else(|| panic!("{d:?}"));
        assert_eq!(reason, DeadLetterReason::PermanentError);
        assert_eq!(kind, "invalid_argument");
        assert!(error.contains("UpdateCase"), "{error}");
    }

    #[test]
    fn filtered_and_applied_payloads_are_acknowledged() {
        for outcomes in [
            vec![],
            vec![Outcome::Filtered(FilteredReason::CaseVersionMismatch)],
            vec![
                Outcome::Processed {
                    overridden_conflict: true,
                },
                Outcome::WouldApply {
                    overridden_conflict: false,
                },
                Outcome::Filtered(FilteredReason::ProjectNotFound),
            ],
        ] {
            assert_eq!(report(outcomes).disposition(), Disposition::Ack);
        }
    }
}
