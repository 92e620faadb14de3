//! The `Admin` gRPC service: fault injection, call counters, state dumps, concurrent edits
//! and seeding, for tests that run the sandbox out of process.

use crate::{FaultStatus, Rpc, Seed, Store};
use case_proto::case_management::v1;
use case_proto::case_sandbox::v1::{self as pb, admin_server::Admin};
use std::time::Duration;
use thirdparty_core::{CaseId, FieldUpdate, OrgId};
use tonic::{Response, Status};

/// The `Admin` service over a [`Store`].
#[derive(Clone, Debug)]
pub struct AdminService {
    store: Store,
}

impl AdminService {
    /// The service for `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

/// The protobuf enum of an [`Rpc`].
pub fn rpc_to_pb(rpc: Rpc) -> pb::Rpc {
    match rpc {
        Rpc::GetCase => pb::Rpc::GetCase,
        Rpc::FindCaseByThirdParty => pb::Rpc::FindCaseByThirdParty,
        Rpc::GetProjectSettings => pb::Rpc::GetProjectSettings,
        Rpc::ListIntegrationMetadata => pb::Rpc::ListIntegrationMetadata,
        Rpc::ListIntegrationOrgs => pb::Rpc::ListIntegrationOrgs,
        Rpc::UpdateCase => pb::Rpc::UpdateCase,
        Rpc::CreateTimelineCell => pb::Rpc::CreateTimelineCell,
        Rpc::ResolveUser => pb::Rpc::ResolveUser,
    }
}

/// The [`Rpc`] of a protobuf enum value; `None` for `UNSPECIFIED` and unknown values.
pub fn rpc_from_pb(value: i32) -> Option<Rpc> {
    Some(match pb::Rpc::try_from(value).ok()? {
        pb::Rpc::Unspecified => return None,
        pb::Rpc::GetCase => Rpc::GetCase,
        pb::Rpc::FindCaseByThirdParty => Rpc::FindCaseByThirdParty,
        pb::Rpc::GetProjectSettings => Rpc::GetProjectSettings,
        pb::Rpc::ListIntegrationMetadata => Rpc::ListIntegrationMetadata,
        pb::Rpc::ListIntegrationOrgs => Rpc::ListIntegrationOrgs,
        pb::Rpc::UpdateCase => Rpc::UpdateCase,
        pb::Rpc::CreateTimelineCell => Rpc::CreateTimelineCell,
        pb::Rpc::ResolveUser => Rpc::ResolveUser,
    })
}

/// The protobuf enum of a [`FaultStatus`].
pub fn fault_status_to_pb(status: FaultStatus) -> pb::FaultStatus {
    match status {
        FaultStatus::Unavailable => pb::FaultStatus::Unavailable,
        FaultStatus::DeadlineExceeded => pb::FaultStatus::DeadlineExceeded,
        FaultStatus::ResourceExhausted => pb::FaultStatus::ResourceExhausted,
        FaultStatus::Internal => pb::FaultStatus::Internal,
        FaultStatus::Aborted => pb::FaultStatus::Aborted,
        FaultStatus::InvalidArgument => pb::FaultStatus::InvalidArgument,
    }
}

/// The [`FaultStatus`] of a protobuf enum value; `None` for `UNSPECIFIED` and unknown values.
pub fn fault_status_from_pb(value: i32) -> Option<FaultStatus> {
    Some(match pb::FaultStatus::try_from(value).ok()? {
        pb::FaultStatus::Unspecified => return None,
        pb::FaultStatus::Unavailable => FaultStatus::Unavailable,
        pb::FaultStatus::DeadlineExceeded => FaultStatus::DeadlineExceeded,
        pb::FaultStatus::ResourceExhausted => FaultStatus::ResourceExhausted,
        pb::FaultStatus::Internal => FaultStatus::Internal,
        pb::FaultStatus::Aborted => FaultStatus::Aborted,
        pb::FaultStatus::InvalidArgument => FaultStatus::InvalidArgument,
    })
}

/// `INVALID_ARGUMENT` for an enum `field` whose `value` is not `kind`; `example` is a
/// value that is.
fn unknown_value(field: &str, value: i32, kind: &str, example: &str) -> Status {
    Status::invalid_argument(format!("{field} {value} is not {kind}; use {example}…"))
}

fn ack() -> Response<pb::AdminAck> {
    Response::new(pb::AdminAck {})
}

grpc_service!(Admin for AdminService {
    set_latency(pb::SetLatencyRequest) -> pb::AdminAck => |admin, request| {
        admin.store.faults().set_latency(Duration::from_millis(request.into_inner().latency_ms));
        Ok(ack())
    };
    fail_next(pb::FailNextRequest) -> pb::AdminAck => |admin, request| {
        let r = request.into_inner();
        let rpc = rpc_from_pb(r.rpc)
            .ok_or_else(|| unknown_value("FailNextRequest.rpc", r.rpc, "an RPC", "RPC_GET_CASE"))?;
        let status = fault_status_from_pb(r.status).ok_or_else(|| {
            unknown_value("FailNextRequest.status", r.status, "a fault status", "FAULT_STATUS_UNAVAILABLE")
        })?;
        admin.store.faults().fail_next(rpc, r.count, status);
        Ok(ack())
    };
    outage(pb::OutageRequest) -> pb::AdminAck => |admin, request| {
        admin.store.faults().outage(Duration::from_millis(request.into_inner().duration_ms));
        Ok(ack())
    };
    clear_faults(pb::ClearFaultsRequest) -> pb::AdminAck => |admin, _request| {
        admin.store.faults().clear();
        Ok(ack())
    };
    get_call_counts(pb::GetCallCountsRequest) -> pb::GetCallCountsResponse => |admin, _request| {
        let counts = admin.store.call_counts().into_iter()
            .map(|(rpc, calls)| pb::CallCount { rpc: rpc_to_pb(rpc) as i32, method: rpc.as_str().to_owned(), calls })
            .collect();
        Ok(Response::new(pb::GetCallCountsResponse { counts }))
    };
    reset_call_counts(pb::ResetCallCountsRequest) -> pb::AdminAck => |admin, _request| {
        admin.store.reset_calls();
        Ok(ack())
    };
    dump_state(pb::DumpStateRequest) -> pb::DumpStateResponse => |admin, _request| {
        Ok(Response::new(pb::DumpStateResponse {
            cases: admin.store.cases().iter().map(Into::into).collect(),
            timeline_cells: admin.store.timeline_cells().iter().map(Into::into).collect(),
        }))
    };
    edit_case(pb::EditCaseRequest) -> pb::EditCaseResponse => |admin, request| {
        let r = request.into_inner();
        let update: v1::FieldUpdate =
            r.update.ok_or_else(|| Status::invalid_argument("EditCaseRequest.update is missing"))?;
        let update = FieldUpdate::try_from(update).map_err(|e| Status::invalid_argument(e.to_string()))?;
        let case = admin.store.edit_case(OrgId(r.org_id), &CaseId(r.case_id), update);
        Ok(Response::new(pb::EditCaseResponse { case: case.as_ref().map(Into::into) }))
    };
    load_seed(pb::LoadSeedRequest) -> pb::AdminAck => |admin, request| {
        let seed: Seed = serde_json::from_str(&request.into_inner().seed_json).map_err(|e| {
            Status::invalid_argument(format!(
                "LoadSeedRequest.seed_json is not a seed: {e}; see fixtures/cases/README.md"
            ))
        })?;
        admin.store.load(seed);
        Ok(ack())
    };
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip() {
        for rpc in Rpc::ALL {
            assert_eq!(rpc_from_pb(rpc_to_pb(rpc) as i32), Some(rpc));
        }
        for status in FaultStatus::ALL {
            assert_eq!(
                fault_status_from_pb(fault_status_to_pb(status) as i32),
                Some(status)
            );
        }
        assert_eq!(rpc_from_pb(0), None);
        assert_eq!(rpc_from_pb(99), None);
        assert_eq!(fault_status_from_pb(0), None);
    }
}
