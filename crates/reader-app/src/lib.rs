//! The service shell shared by every reader flavor: configuration (ini file, environment,
//! flags), the command line (`run`, `check-config`, `replay`, `config-keys`) and the wiring
//! config → telemetry → Case API → pipeline → health → Kafka runtime → signals → drain.
//!
//! A flavor's binary implements [`Flavor`] and calls [`main`]; it names no other crate of
//! the shell. This crate names no integration.
//!
//! A new integration declares its `[<name>]` section in its own crate and names it here:
//!
//! ```no_run
//! use reader_app::config::ConfigError;
//! use reader_app::flavor::{Flavor, FlavorParts, FlavorSetup};
//! use thirdparty_core::DecodeError;
//! use thirdparty_core::config::KeyKind;
//!
//! thirdparty_core::config_section! {
//!     /// The `[linear]` section.
//!     pub struct LinearSection in "linear" {
//!         /// Linear user id of our own integration user.
//!         pub integration_user: String = "case-sync", KeyKind::Text;
//!     }
//! }
//!
//! struct Linear;
//! impl Flavor for Linear {
//!     const NAME: &'static str = "linear";
//!     type RawArgs = reader_app::flavor::NoRawArgs;
//!     type Section = LinearSection;
//!     fn build(setup: FlavorSetup<'_, LinearSection>) -> Result<FlavorParts, ConfigError> {
//!         unimplemented!("build the Linear decoder, filterer and processor over setup.api")
//!     }
//!     fn envelope_raw(_: &Self::RawArgs, _: u64, _: &[u8]) -> Option<Result<Vec<u8>, DecodeError>> { None }
//! }
//!
//! fn main() -> std::process::ExitCode { reader_app::main::<Linear>() }
//! ```

mod app;
mod check;
mod cli;
pub mod config;
#[cfg(test)]
mod defaults_tests;
pub mod flavor;
mod keys;
mod replay;
mod replay_command;
mod settings;

use crate::cli::{Cli, Command};
use crate::config::{ConfigSources, EXIT_CONFIG, RawConfig};
use crate::flavor::Flavor;
use crate::settings::ReaderSettings;
use clap::Parser;
use std::process::ExitCode;

/// Runs a flavor's binary: parses the command line and runs the command. Exit codes: 0 done,
/// 1 failure (fatal runtime error, unreachable dependency), 78 bad configuration.
pub fn main<F: Flavor>() -> ExitCode {
    let cli = Cli::<F::RawArgs>::parse();
    let (path, file_required) = cli.config_path();
    let mut env: std::collections::BTreeMap<String, String> = std::env::vars().collect();
    if let Some(dd_env) = env.get("DD_ENV").cloned() {
        env.entry(thirdparty_core::config::env_var_for("metrics.env"))
            .or_insert(dd_env);
    }
    let sources = ConfigSources {
        file: Some(path),
        file_required,
        env,
        flags: cli.set.clone(),
    };
    let command = cli.command.unwrap_or(Command::Run);
    let sections = keys::sections::<F>();
    if let Command::ConfigKeys { format } = command {
        match format {
            cli::KeysFormat::Markdown => print!("{}", keys::markdown_table(&sections)),
            cli::KeysFormat::Ini => print!("{}", keys::example_ini(F::NAME, &sections)),
        }
        return ExitCode::SUCCESS;
    }
    let raw = match RawConfig::load(&sources, &sections) {
        Ok(raw) => raw,
        Err(e) => return config_error::<F>(&e),
    };
    // Before anything opens a TLS connection (Case API, OTLP): AWS-LC FIPS in a `fips` build.
    case_client::tls::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("reader-{}: cannot start the async runtime: {e}", F::NAME);
            return ExitCode::FAILURE;
        }
    };
    match command {
        Command::Run | Command::ConfigKeys { .. } => {
            runtime.block_on(run_service::<F>(raw, sources))
        }
        Command::CheckConfig { offline } => runtime.block_on(check_config::<F>(raw, offline)),
        Command::Replay(args) => runtime.block_on(replay_command::run::<F>(raw, args)),
    }
}

fn config_error<F: Flavor>(e: &config::ConfigError) -> ExitCode {
    eprintln!("reader-{}: {e}", F::NAME);
    ExitCode::from(EXIT_CONFIG)
}

async fn run_service<F: Flavor>(raw: RawConfig, sources: ConfigSources) -> ExitCode {
    let settings = match ReaderSettings::from_raw(&raw, F::NAME, true) {
        Ok(s) => s,
        Err(e) => return config_error::<F>(&e),
    };
    let telemetry = match observability::init(&settings.telemetry) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("reader-{}: telemetry did not start: {e}", F::NAME);
            return ExitCode::FAILURE;
        }
    };
    let result = app::run::<F>(raw, settings, sources, &telemetry).await;
    // Flush metrics (the `retries` count of a crash included) before exiting.
    let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("reader-{}: {e}", F::NAME);
            ExitCode::from(e.exit_code())
        }
    }
}

async fn check_config<F: Flavor>(raw: RawConfig, offline: bool) -> ExitCode {
    let settings = match ReaderSettings::from_raw(&raw, F::NAME, true) {
        Ok(s) => s,
        Err(e) => return config_error::<F>(&e),
    };
    let api = if offline {
        None
    } else {
        match app::case_api(&settings) {
            Ok((_, api)) => Some(api),
            Err(e) => {
                eprintln!("reader-{}: {e}", F::NAME);
                return ExitCode::from(e.exit_code());
            }
        }
    };
    let lines = check::check::<F>(&raw, &settings, api.as_deref()).await;
    match check::print_report(&lines, &mut std::io::stdout().lock()) {
        Ok(true) => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}
