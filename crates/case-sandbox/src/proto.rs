//! The generated `case_sandbox.v1` code: the `Admin` service's messages, client
//! ([`admin_client::AdminClient`], for out-of-process tests) and server trait. Case
//! Management messages inside it are `case_client::proto::v1` types.

#![allow(missing_docs, clippy::all, clippy::pedantic)]

tonic::include_proto!("case_sandbox.v1");
