//! The gRPC server over a [`Store`]: the Case Management `Cases`, `Settings` and `Users`
//! services, and the sandbox's own `Admin` service.

use crate::admin::AdminService;
use crate::faults::{FaultStatus, InjectedFault};
use crate::{Rpc, Store};
use case_proto::case_management::v1;
use case_proto::case_management::v1::cases_server::{Cases, CasesServer};
use case_proto::case_management::v1::settings_server::{Settings, SettingsServer};
use case_proto::case_management::v1::users_server::{Users, UsersServer};
use case_proto::case_sandbox::v1::admin_server::AdminServer;
use case_proto::status::status_from_case_api_error;
use case_proto::tls::{self, PemError};
use case_proto::wire;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;
use thirdparty_core::{CaseId, CaseUpdate, NewTimelineCell, OrgId, ProjectId};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Code, Request, Response, Status};

/// The check in front of the Case Management services: the `authorization: Bearer …`
/// metadata must carry the store's required token, when it has one
/// ([`Store::require_token`]). The Admin service is never checked.
fn bearer_check(store: Store) -> impl Fn(Request<()>) -> Result<Request<()>, Status> + Clone {
    move |request: Request<()>| {
        let Some(token) = store.required_token() else {
            return Ok(request);
        };
        match request.metadata().get("authorization") {
            None => Err(Status::unauthenticated(
                "this Case API requires `authorization: Bearer <token>`; none was sent",
            )),
            Some(value) if value.to_str().ok() == Some(format!("Bearer {token}").as_str()) => {
                Ok(request)
            }
            Some(_) => Err(Status::permission_denied(
                "the bearer token is not one this Case API accepts",
            )),
        }
    }
}

/// TLS settings of the sandbox server, as PEM.
#[derive(Clone)]
pub struct ServerTls {
    /// Server certificate chain, leaf first.
    pub cert_pem: Vec<u8>,
    /// Server private key.
    pub key_pem: Vec<u8>,
    /// When set, clients must present a certificate signed by this CA (mutual TLS).
    pub client_ca_pem: Option<Vec<u8>>,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls")
            .field("cert_pem", &format_args!("<{} bytes>", self.cert_pem.len()))
            .field("key_pem", &"<redacted>")
            .field("mtls", &self.client_ca_pem.is_some())
            .finish()
    }
}

/// The sandbox server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}; pick a free port (or port 0 for any)")]
    Bind {
        /// Address asked for.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The TLS certificate, key or client CA is unusable.
    #[error("sandbox TLS settings are unusable: {0}")]
    Tls(#[from] PemError),
    /// tonic refused the configuration or failed while serving.
    #[error("sandbox gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The server task panicked or was cancelled.
    #[error("sandbox gRPC server task ended abnormally: {0}")]
    Task(String),
}

impl ServeError {
    /// Whether starting again can help: only when the port was busy.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Bind { .. })
    }
}

/// A running sandbox server. [`ServerHandle::shutdown`] stops it gracefully; dropping the
/// handle also asks it to stop (without waiting).
#[derive(Debug)]
pub struct ServerHandle {
    local_addr: SocketAddr,
    tls: bool,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), tonic::transport::Error>>>,
}

impl ServerHandle {
    /// The address the server listens on (with the real port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://ADDR` or `https://ADDR`: the endpoint a client connects to. With TLS, the
    /// client must check the server certificate against the name the certificate carries
    /// (see `case_client::TlsConfig::with_domain_name`) when that is not the IP.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.local_addr)
    }

    /// Stops accepting connections, lets in-flight calls finish (up to 10 s) and waits for
    /// the server task.
    pub async fn shutdown(mut self) -> Result<(), ServeError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let Some(mut task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(Duration::from_secs(10), &mut task).await {
            Ok(Ok(result)) => result.map_err(ServeError::from),
            Ok(Err(join)) => Err(ServeError::Task(join.to_string())),
            Err(_) => {
                task.abort();
                tracing::warn!("sandbox: connections still open after 10 s; server aborted");
                Ok(())
            }
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Serves `store` over plaintext gRPC on `addr` (port 0 picks a free port).
pub async fn serve(addr: SocketAddr, store: Store) -> Result<ServerHandle, ServeError> {
    let listener = bind(addr).await?;
    serve_listener(listener, store, None).await
}

/// Serves `store` over gRPC with TLS (and mutual TLS when `tls.client_ca_pem` is set).
pub async fn serve_tls(
    addr: SocketAddr,
    store: Store,
    tls: ServerTls,
) -> Result<ServerHandle, ServeError> {
    let listener = bind(addr).await?;
    serve_listener(listener, store, Some(tls)).await
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })
}

/// Serves `store` on an already bound listener, with optional TLS.
pub async fn serve_listener(
    listener: TcpListener,
    store: Store,
    tls: Option<ServerTls>,
) -> Result<ServerHandle, ServeError> {
    let local_addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: SocketAddr::from(([0, 0, 0, 0], 0)),
        source,
    })?;
    let mut builder = Server::builder();
    let with_tls = tls.is_some();
    if let Some(tls_settings) = tls {
        tls::check_identity(
            &tls_settings.cert_pem,
            &tls_settings.key_pem,
            "sandbox server certificate and key PEM",
        )?;
        let mut config = ServerTlsConfig::new().identity(Identity::from_pem(
            &tls_settings.cert_pem,
            &tls_settings.key_pem,
        ));
        if let Some(ca) = &tls_settings.client_ca_pem {
            tls::check_ca(ca, "sandbox client CA PEM")?;
            config = config.client_ca_root(Certificate::from_pem(ca));
        }
        tls::install_crypto_provider();
        builder = builder.tls_config(config)?;
    }
    let api = Api {
        store: store.clone(),
    };
    let router = builder
        .add_service(CasesServer::with_interceptor(
            api.clone(),
            bearer_check(store.clone()),
        ))
        .add_service(SettingsServer::with_interceptor(
            api.clone(),
            bearer_check(store.clone()),
        ))
        .add_service(UsersServer::with_interceptor(
            api,
            bearer_check(store.clone()),
        ))
        .add_service(AdminServer::new(AdminService::new(store)));
    let (tx, rx) = oneshot::channel::<()>();
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let task = tokio::spawn(async move {
        router
            .serve_with_incoming_shutdown(incoming, async {
                let _ = rx.await;
            })
            .await
    });
    tracing::info!(%local_addr, tls = with_tls, "sandbox: serving Case Management gRPC");
    Ok(ServerHandle {
        local_addr,
        tls: with_tls,
        shutdown: Some(tx),
        task: Some(task),
    })
}

/// The gRPC status of an injected fault.
pub(crate) fn fault_status(rpc: Rpc, fault: InjectedFault) -> Status {
    let code = match fault.status {
        FaultStatus::Unavailable => Code::Unavailable,
        FaultStatus::DeadlineExceeded => Code::DeadlineExceeded,
        FaultStatus::ResourceExhausted => Code::ResourceExhausted,
        FaultStatus::Internal => Code::Internal,
        FaultStatus::Aborted => Code::Aborted,
        FaultStatus::InvalidArgument => Code::InvalidArgument,
    };
    let kind = if fault.outage { "outage" } else { "fault" };
    Status::new(code, format!("case-sandbox: injected {kind} on {rpc}"))
}

#[derive(Clone)]
struct Api {
    store: Store,
}

impl Api {
    /// Counts `rpc` (failing it when a fault is injected), then answers the request's
    /// message with `answer`.
    async fn handle<Req, Resp>(
        &self,
        rpc: Rpc,
        request: Request<Req>,
        answer: impl FnOnce(&Store, Req) -> Result<Resp, Status>,
    ) -> Result<Response<Resp>, Status> {
        self.store
            .enter(rpc)
            .await
            .map_err(|fault| fault_status(rpc, fault))?;
        answer(&self.store, request.into_inner()).map(Response::new)
    }
}

fn invalid(err: &wire::WireError) -> Status {
    Status::invalid_argument(err.to_string())
}

/// Writes a tonic service of [`Api`] from a table, one row a method: its request and
/// response messages, the [`Rpc`] it counts as, and how the store answers it (see
/// [`Api::handle`]).
macro_rules! serve_rpcs {
    ($service:ident { $($method:ident($request:ty) -> $response:ty, $rpc:ident => $answer:expr;)+ }) => {
        grpc_service!($service for Api {
            $($method($request) -> $response => |api, request| api.handle(Rpc::$rpc, request, $answer).await;)+
        });
    };
}

serve_rpcs!(Cases {
    get_case(v1::GetCaseRequest) -> v1::GetCaseResponse, GetCase => |store, r| {
        let case = store.do_get_case(OrgId(r.org_id), &CaseId(r.case_id));
        Ok(v1::GetCaseResponse { case: case.as_ref().map(Into::into) })
    };
    find_case_by_third_party(v1::FindCaseByThirdPartyRequest) -> v1::FindCaseByThirdPartyResponse, FindCaseByThirdParty => |store, r| {
        let case = store.do_find_case(OrgId(r.org_id), &r.integration, &r.account_id, &r.item_id);
        Ok(v1::FindCaseByThirdPartyResponse { case: case.as_ref().map(Into::into) })
    };
    update_case(v1::UpdateCaseRequest) -> v1::UpdateCaseResponse, UpdateCase => |store, r| {
        let update = CaseUpdate::try_from(r).map_err(|e| invalid(&e))?;
        let case = store.do_update_case(&update).map_err(|e| status_from_case_api_error(&e))?;
        Ok(v1::UpdateCaseResponse { case: Some((&case).into()) })
    };
    create_timeline_cell(v1::CreateTimelineCellRequest) -> v1::CreateTimelineCellResponse, CreateTimelineCell => |store, r| {
        let cell = r.cell.ok_or_else(|| Status::invalid_argument("CreateTimelineCellRequest.cell is missing"))?;
        let cell = NewTimelineCell::try_from(cell).map_err(|e| invalid(&e))?;
        let created = store.do_create_cell(&cell).map_err(|e| status_from_case_api_error(&e))?;
        Ok(v1::CreateTimelineCellResponse { cell: Some((&created.cell).into()), created: created.created })
    };
});

serve_rpcs!(Settings {
    get_project_settings(v1::GetProjectSettingsRequest) -> v1::GetProjectSettingsResponse, GetProjectSettings => |store, r| {
        let settings = store.do_get_settings(OrgId(r.org_id), &ProjectId(r.project_id), &r.integration);
        Ok(v1::GetProjectSettingsResponse { settings: settings.as_ref().map(Into::into) })
    };
    list_integration_metadata(v1::ListIntegrationMetadataRequest) -> v1::ListIntegrationMetadataResponse, ListIntegrationMetadata => |store, r| {
        let metadata = store.do_list_metadata(OrgId(r.org_id), &r.integration);
        Ok(v1::ListIntegrationMetadataResponse { metadata: metadata.iter().map(Into::into).collect() })
    };
    list_integration_orgs(v1::ListIntegrationOrgsRequest) -> v1::ListIntegrationOrgsResponse, ListIntegrationOrgs => |store, r| {
        let orgs = store.do_list_orgs(&r.integration);
        Ok(v1::ListIntegrationOrgsResponse { org_ids: orgs.into_iter().map(|o| o.0).collect() })
    };
});

serve_rpcs!(Users {
    resolve_user(v1::ResolveUserRequest) -> v1::ResolveUserResponse, ResolveUser => |store, r| {
        let (org, query) = wire::user_query(r);
        let user = store.do_resolve_user(org, &query);
        Ok(v1::ResolveUserResponse { user_id: user.map(|u| u.0) })
    };
});
