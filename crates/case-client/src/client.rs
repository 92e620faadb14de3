//! [`CaseClient`]: [`CaseApi`] over gRPC, with deadlines, retries and a settings cache.

use crate::auth::TokenSource;
use crate::config::{CaseClientConfig, ConnectError, RetryPolicy};
use async_trait::async_trait;
use case_proto::case_management::v1;
use case_proto::case_management::v1::cases_client::CasesClient;
use case_proto::case_management::v1::settings_client::SettingsClient;
use case_proto::case_management::v1::users_client::UsersClient;
use case_proto::status::{case_api_error, is_transient, status_message};
use case_proto::{tls, wire};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use thirdparty_core::{
    Case, CaseApi, CaseApiError, CaseId, CaseUpdate, ExpiringCache, IntegrationMetadata,
    NewTimelineCell, OrgId, ProjectId, ProjectSettings, ThirdPartyRef, TimelineCellCreated, UserId,
    UserQuery,
};
use tokio::time::Instant;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Code, Request, Response, Status};

/// Sends `message` as one unary RPC through [`CaseClient::call`] (deadline, retries, error
/// mapping) with the generated client `self.inner.$service` and its method `$method`, and
/// records whether the API refused the reader's setup ([`CaseClient::is_refused`]).
macro_rules! unary {
    ($self:ident, $service:ident . $method:ident, $rpc:expr, $update:expr, $message:expr) => {{
        let result = $self
            .call(
                $rpc,
                $update,
                &$self.inner.$service,
                $message,
                |mut client, request| async move { client.$method(request).await },
            )
            .await;
        $self.note_refusal(result.as_ref().err());
        result
    }};
}

type SettingsKey = (OrgId, ProjectId, String);

/// The Case Management API over gRPC (tonic), implementing [`CaseApi`].
///
/// - Each attempt has a deadline ([`CaseClientConfig::call_timeout`]).
/// - `UNAVAILABLE`, `DEADLINE_EXCEEDED` and `RESOURCE_EXHAUSTED` are retried with
///   exponential backoff and full jitter, bounded by attempts and elapsed time
///   ([`RetryPolicy`]); then the call fails [`CaseApiError::Unavailable`].
/// - `ABORTED` on `UpdateCase` is [`CaseApiError::VersionConflict`] (with the server's
///   current version when it says); the other codes map as [`case_api_error`] says.
/// - `GetProjectSettings` answers, "no settings" included, are cached for
///   [`CaseClientConfig::settings_cache_ttl`]; concurrent misses of one key share one call.
/// - A TLS certificate the client cannot verify (or a client certificate the server
///   refuses) is [`CaseApiError::PermissionDenied`], a configuration fault: not retried in
///   place (only a fix helps), retryable for the message, which waits for the fix.
/// - With [`CaseClientConfig::auth`], every call carries `authorization: Bearer <token>`
///   (a token file is read again when it changes); `UNAUTHENTICATED` and
///   `PERMISSION_DENIED` are [`CaseApiError::PermissionDenied`] naming where the token came
///   from.
///
/// Cheap to clone: clones share the connection and the cache.
#[derive(Clone)]
pub struct CaseClient {
    inner: Arc<Inner>,
}

struct Inner {
    cases: CasesClient<Channel>,
    settings: SettingsClient<Channel>,
    users: UsersClient<Channel>,
    call_timeout: Duration,
    retry: RetryPolicy,
    settings_cache: ExpiringCache<SettingsKey, Option<ProjectSettings>>,
    /// Whether the endpoint is plaintext (for hints in transport errors).
    plaintext: bool,
    /// The bearer token sent on every call, if any.
    auth: Option<TokenSource>,
    /// Whether the latest answer refused the reader's credentials or TLS settings.
    refused: AtomicBool,
}

impl std::fmt::Debug for CaseClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaseClient")
            .field("call_timeout", &self.inner.call_timeout)
            .field("retry", &self.inner.retry)
            .field("plaintext", &self.inner.plaintext)
            .field("auth", &self.inner.auth)
            .finish_non_exhaustive()
    }
}

impl CaseClient {
    /// Builds a client. The connection opens lazily on the first call (and reopens after
    /// failures), so a server that is down now is not an error here; an invalid endpoint,
    /// TLS mismatch or unusable PEM is.
    pub fn connect(config: CaseClientConfig) -> Result<Self, ConnectError> {
        let CaseClientConfig {
            endpoint: url,
            tls,
            call_timeout,
            connect_timeout,
            retry,
            settings_cache_ttl,
            settings_cache_capacity,
            auth,
        } = config;
        if retry.max_attempts == 0 {
            return Err(ConnectError::InvalidSetting {
                setting: "retry.max_attempts",
                reason: "must be at least 1 (the first attempt counts)",
            });
        }
        if call_timeout.is_zero() {
            return Err(ConnectError::InvalidSetting {
                setting: "call_timeout",
                reason: "must be greater than zero",
            });
        }
        let invalid = |reason: String| ConnectError::InvalidEndpoint {
            endpoint: url.clone(),
            reason,
        };
        let (scheme, _) = url
            .split_once("://")
            .ok_or_else(|| invalid("no scheme".into()))?;
        let plaintext = match scheme {
            "http" => true,
            "https" => false,
            other => return Err(invalid(format!("scheme {other:?} is not http or https"))),
        };
        let mut endpoint = Endpoint::from_shared(url.clone())
            .map_err(|e| invalid(e.to_string()))?
            .connect_timeout(connect_timeout)
            .tcp_nodelay(true);
        match (&tls, plaintext) {
            (Some(_), true) => {
                return Err(ConnectError::TlsMismatch {
                    endpoint: url,
                    reason: "TLS settings were given for an http:// endpoint; use https://",
                });
            }
            (None, false) => {
                return Err(ConnectError::TlsMismatch {
                    endpoint: url,
                    reason: "an https:// endpoint needs TLS settings (at least the CA certificate PEM)",
                });
            }
            (Some(tls_config), false) => {
                tls::check_ca(&tls_config.ca_pem, "CA certificate PEM")?;
                let mut client_tls = ClientTlsConfig::new()
                    .ca_certificate(Certificate::from_pem(&tls_config.ca_pem));
                if let Some(identity) = &tls_config.client_identity {
                    tls::check_identity(
                        &identity.cert_pem,
                        &identity.key_pem,
                        "client certificate and key PEM",
                    )?;
                    client_tls = client_tls
                        .identity(Identity::from_pem(&identity.cert_pem, &identity.key_pem));
                }
                if let Some(name) = &tls_config.domain_name {
                    client_tls = client_tls.domain_name(name.clone());
                }
                tls::install_crypto_provider();
                endpoint =
                    endpoint
                        .tls_config(client_tls)
                        .map_err(|source| ConnectError::Transport {
                            endpoint: url.clone(),
                            source,
                        })?;
            }
            (None, true) => {}
        }
        let channel = endpoint.connect_lazy();
        tracing::debug!(
            tls = !plaintext,
            mtls = tls.as_ref().is_some_and(|t| t.client_identity.is_some()),
            "Case API client configured"
        );
        Ok(Self {
            inner: Arc::new(Inner {
                cases: CasesClient::new(channel.clone()),
                settings: SettingsClient::new(channel.clone()),
                users: UsersClient::new(channel),
                call_timeout,
                retry,
                settings_cache: ExpiringCache::new(settings_cache_capacity, settings_cache_ttl),
                plaintext,
                auth: auth.map(TokenSource::new),
                refused: AtomicBool::new(false),
            }),
        })
    }

    /// Whether the latest call was refused for the reader's own setup (its token, its TLS
    /// trust: [`CaseApiError::is_configuration_fault`]) and no call succeeded since: the
    /// reader is not ready then.
    pub fn is_refused(&self) -> bool {
        self.inner.refused.load(Ordering::Relaxed)
    }

    /// Hits, misses and load errors of the settings cache.
    pub fn settings_cache_stats(&self) -> thirdparty_core::CacheStats {
        self.inner.settings_cache.stats()
    }

    /// Forgets the cached settings of one project (e.g. after a settings-changed event).
    pub fn invalidate_settings(&self, org: OrgId, project: &ProjectId, integration: &str) {
        self.inner
            .settings_cache
            .invalidate(&(org, project.clone(), integration.to_owned()));
    }

    /// Whether the API refused the reader's setup: set by a configuration fault, cleared by
    /// the next successful call.
    fn note_refusal(&self, error: Option<&CaseApiError>) {
        match error {
            None => self.inner.refused.store(false, Ordering::Relaxed),
            Some(e) if e.is_configuration_fault() => {
                self.inner.refused.store(true, Ordering::Relaxed);
            }
            Some(_) => {}
        }
    }

    /// Runs one RPC with deadline and retries: each attempt sends `message` (with the
    /// deadline and the bearer token attached) through `send` on a clone of `client`.
    /// `update` is the update an `UpdateCase` sends, to read `ABORTED` as a version
    /// conflict.
    async fn call<C, Req, Resp, Fut>(
        &self,
        rpc: &'static str,
        update: Option<&CaseUpdate>,
        client: &C,
        message: Req,
        send: impl Fn(C, Request<Req>) -> Fut,
    ) -> Result<Resp, CaseApiError>
    where
        C: Clone,
        Req: Clone,
        Fut: Future<Output = Result<Response<Resp>, Status>>,
    {
        let retry = self.inner.retry;
        let deadline = self.inner.call_timeout;
        let started = Instant::now();
        let mut attempts: u32 = 0;
        loop {
            attempts = attempts.saturating_add(1);
            let mut request = with_deadline(message.clone(), deadline);
            if let Some(auth) = &self.inner.auth {
                let value = auth
                    .header()
                    .map_err(|message| CaseApiError::PermissionDenied { rpc, message })?;
                request.metadata_mut().insert("authorization", value);
            }
            let attempt = send(client.clone(), request);
            let status = match tokio::time::timeout(deadline, attempt).await {
                Ok(Ok(response)) => return Ok(response.into_inner()),
                Ok(Err(status)) if is_own_timeout(&status) => Status::deadline_exceeded(format!(
                    "no answer within the call timeout of {deadline:?}"
                )),
                Ok(Err(status)) => status,
                Err(_) => Status::deadline_exceeded(format!(
                    "no answer within the call timeout of {deadline:?}"
                )),
            };
            if let Some(reason) = tls_failure(&status) {
                return Err(CaseApiError::PermissionDenied {
                    rpc,
                    message: format!(
                        "TLS handshake failed: {reason}; check the CA certificate, the server name and the client certificate"
                    ),
                });
            }
            // The connection broke after it was opened (tonic: UNKNOWN with a source).
            let broken_connection = status.code() == Code::Unknown && is_transport_failure(&status);
            let status = if broken_connection {
                Status::unavailable(status_message(&status))
            } else {
                status
            };
            if matches!(
                status.code(),
                Code::Unauthenticated | Code::PermissionDenied
            ) {
                return Err(CaseApiError::PermissionDenied {
                    rpc,
                    message: self.refused(&status),
                });
            }
            if !is_transient(status.code()) {
                return Err(case_api_error(rpc, &status, update));
            }
            let elapsed = started.elapsed();
            let Some(wait) = retry
                .backoff()
                .next_delay(attempts, elapsed, rand::random())
            else {
                let mut message = format!(
                    "gave up after {attempts} attempt(s) in {elapsed:.1?}: {}",
                    status_message(&status)
                );
                if self.inner.plaintext && broken_connection {
                    message.push_str(
                        " (the endpoint is plaintext http://: if the server requires TLS, use https:// with its CA)",
                    );
                }
                tracing::warn!(
                    rpc,
                    attempts,
                    code = ?status.code(),
                    elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
                    "Case API call failed transiently; giving up"
                );
                return Err(CaseApiError::Unavailable { rpc, message });
            };
            tracing::debug!(
                rpc,
                attempt = attempts,
                code = ?status.code(),
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "Case API call failed transiently; retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// What an `UNAUTHENTICATED` / `PERMISSION_DENIED` answer means for this client, naming
    /// the fix.
    fn refused(&self, status: &Status) -> String {
        let code = status.code();
        let said = status_message(status);
        match &self.inner.auth {
            Some(auth) => format!(
                "the Case API refused {} ({code:?}: {said}); fix the token (a token file is read again when it changes)",
                auth.origin()
            ),
            None => format!(
                "the Case API requires a token ({code:?}: {said}); set case_api.auth_token_file (a mounted secret) or case_api.auth_token"
            ),
        }
    }

    async fn fetch_settings(
        &self,
        key: SettingsKey,
    ) -> Result<Option<ProjectSettings>, CaseApiError> {
        let rpc = "GetProjectSettings";
        let (org, project, integration) = key;
        let message = v1::GetProjectSettingsRequest {
            org_id: org.0,
            project_id: project.0,
            integration,
        };
        let response = unary!(self, settings.get_project_settings, rpc, None, message)?;
        decode_optional(rpc, response.settings)
    }
}

fn with_deadline<T>(message: T, deadline: Duration) -> Request<T> {
    let mut request = Request::new(message);
    request.set_timeout(deadline);
    request
}

fn malformed(rpc: &'static str, err: &wire::WireError) -> CaseApiError {
    CaseApiError::Internal {
        rpc,
        message: err.to_string(),
    }
}

/// The core value of an optional message field (`None` stays `None`).
fn decode_optional<P, T>(rpc: &'static str, message: Option<P>) -> Result<Option<T>, CaseApiError>
where
    T: TryFrom<P, Error = wire::WireError>,
{
    message
        .map(T::try_from)
        .transpose()
        .map_err(|e| malformed(rpc, &e))
}

/// The core value of a message field the response must carry; `field` names it.
fn decode_required<P, T>(
    rpc: &'static str,
    message: Option<P>,
    field: &str,
) -> Result<T, CaseApiError>
where
    T: TryFrom<P, Error = wire::WireError>,
{
    decode_optional(rpc, message)?.ok_or_else(|| CaseApiError::Internal {
        rpc,
        message: format!("{field} is missing"),
    })
}

/// Errors in the chain of a status, `io::Error` payloads included.
fn error_chain(status: &Status) -> Vec<&(dyn std::error::Error + 'static)> {
    let mut chain = Vec::new();
    let mut next = std::error::Error::source(status);
    while let Some(err) = next {
        chain.push(err);
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            let inner: &(dyn std::error::Error + 'static) = inner;
            chain.push(inner);
        }
        next = err.source();
    }
    chain
}

/// Whether tonic cancelled the call because the deadline we set (`grpc-timeout`) expired.
fn is_own_timeout(status: &Status) -> bool {
    status.code() == Code::Cancelled
        && (status.message() == tonic::TimeoutExpired(()).to_string()
            || error_chain(status)
                .iter()
                .any(|e| e.downcast_ref::<tonic::TimeoutExpired>().is_some()))
}

/// TLS alerts a peer sends when it refuses our certificate or we refused its.
const CERTIFICATE_ALERTS: [rustls::AlertDescription; 6] = [
    rustls::AlertDescription::BadCertificate,
    rustls::AlertDescription::UnknownCA,
    rustls::AlertDescription::CertificateRequired,
    rustls::AlertDescription::CertificateUnknown,
    rustls::AlertDescription::UnsupportedCertificate,
    rustls::AlertDescription::AccessDenied,
];

/// The TLS certificate failure behind a status, if the call failed on one: a local
/// verification error (`rustls::Error`), or a certificate alert from the server (which
/// reaches us only as text inside an `io::Error`).
fn tls_failure(status: &Status) -> Option<String> {
    error_chain(status).into_iter().find_map(|err| {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            let refused = match tls {
                rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented => {
                    true
                }
                rustls::Error::AlertReceived(alert) => CERTIFICATE_ALERTS.contains(alert),
                _ => false,
            };
            return refused.then(|| tls.to_string());
        }
        let text = err.to_string();
        let alert = text.strip_prefix("received fatal alert: ")?;
        CERTIFICATE_ALERTS
            .iter()
            .any(|a| format!("{a:?}") == alert)
            .then_some(text)
    })
}

/// Whether the status was made by the client's own transport (connection refused or
/// dropped, protocol error) rather than sent by the server. tonic reports a connection
/// that broke mid-call as `UNKNOWN` with a source; that is as transient as `UNAVAILABLE`.
fn is_transport_failure(status: &Status) -> bool {
    std::error::Error::source(status).is_some()
}

#[async_trait]
impl CaseApi for CaseClient {
    async fn get_case(&self, org: OrgId, case_id: &CaseId) -> Result<Option<Case>, CaseApiError> {
        let rpc = "GetCase";
        let message = v1::GetCaseRequest {
            org_id: org.0,
            case_id: case_id.0.clone(),
        };
        let response = unary!(self, cases.get_case, rpc, None, message)?;
        decode_optional(rpc, response.case)
    }

    async fn find_case_by_third_party(
        &self,
        org: OrgId,
        integration: &str,
        reference: &ThirdPartyRef,
    ) -> Result<Option<Case>, CaseApiError> {
        let rpc = "FindCaseByThirdParty";
        let message = wire::find_request(org, integration, reference);
        let response = unary!(self, cases.find_case_by_third_party, rpc, None, message)?;
        decode_optional(rpc, response.case)
    }

    async fn get_project_settings(
        &self,
        org: OrgId,
        project: &ProjectId,
        integration: &str,
    ) -> Result<Option<ProjectSettings>, CaseApiError> {
        let key = (org, project.clone(), integration.to_owned());
        self.inner
            .settings_cache
            .get_or_load(key.clone(), || self.fetch_settings(key))
            .await
    }

    async fn list_integration_metadata(
        &self,
        org: OrgId,
        integration: &str,
    ) -> Result<Vec<IntegrationMetadata>, CaseApiError> {
        let message = v1::ListIntegrationMetadataRequest {
            org_id: org.0,
            integration: integration.to_owned(),
        };
        let response = unary!(
            self,
            settings.list_integration_metadata,
            "ListIntegrationMetadata",
            None,
            message
        )?;
        Ok(response.metadata.into_iter().map(Into::into).collect())
    }

    async fn list_integration_orgs(&self, integration: &str) -> Result<Vec<OrgId>, CaseApiError> {
        let message = v1::ListIntegrationOrgsRequest {
            integration: integration.to_owned(),
        };
        let response = unary!(
            self,
            settings.list_integration_orgs,
            "ListIntegrationOrgs",
            None,
            message
        )?;
        Ok(response.org_ids.into_iter().map(OrgId).collect())
    }

    async fn update_case(&self, update: &CaseUpdate) -> Result<Case, CaseApiError> {
        let rpc = "UpdateCase";
        let message = v1::UpdateCaseRequest::from(update);
        let response = unary!(self, cases.update_case, rpc, Some(update), message)?;
        decode_required(rpc, response.case, "UpdateCaseResponse.case")
    }

    async fn create_timeline_cell(
        &self,
        cell: &NewTimelineCell,
    ) -> Result<TimelineCellCreated, CaseApiError> {
        let rpc = "CreateTimelineCell";
        let message = v1::CreateTimelineCellRequest {
            cell: Some(cell.into()),
        };
        let response = unary!(self, cases.create_timeline_cell, rpc, None, message)?;
        Ok(TimelineCellCreated {
            cell: decode_required(rpc, response.cell, "CreateTimelineCellResponse.cell")?,
            created: response.created,
        })
    }

    async fn resolve_user(
        &self,
        org: OrgId,
        query: &UserQuery,
    ) -> Result<Option<UserId>, CaseApiError> {
        let message = wire::resolve_request(org, query);
        let response = unary!(self, users.resolve_user, "ResolveUser", None, message)?;
        Ok(response.user_id.map(UserId))
    }
}
