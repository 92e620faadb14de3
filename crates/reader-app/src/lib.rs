//! The service shell shared by every reader flavor.
pub mod cli;
pub mod config;
pub mod flavor;
pub mod replay;
