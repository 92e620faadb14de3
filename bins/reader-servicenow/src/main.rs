//! `reader-servicenow`: the ServiceNow deployment of the case third-party reader. Wiring
//! only: the service shell is `reader-app`, the integration is the `servicenow` crate.
//!
//! ```sh
//! reader-servicenow --config /etc/datadog/case-third-party-reader.ini      # run
//! reader-servicenow check-config --config reader.ini
//! reader-servicenow replay --dry-run --file body.json --org-id 1 --instance-name acme
//! reader-servicenow config-keys --format ini > example.ini
//! ```

use reader_app::config::ConfigError;
use reader_app::flavor::{Flavor, FlavorParts, FlavorSetup, MetadataCaches};
use servicenow::{ServiceNowConfig, ServiceNowFilterer};
use std::process::ExitCode;
use std::sync::Arc;
use thirdparty_core::DecodeError;

struct ServiceNow;

/// `replay --org-id N --instance-name NAME`: wrap raw ServiceNow records.
#[derive(Debug, Clone, clap::Args)]
struct ServiceNowRawArgs {
    /// The ServiceNow instance name of raw records (with --org-id).
    #[arg(long)]
    instance_name: Option<String>,
}

impl Flavor for ServiceNow {
    const NAME: &'static str = "servicenow";
    type RawArgs = ServiceNowRawArgs;

    type Section = servicenow::ServiceNowSection;

    fn build(setup: FlavorSetup<'_, Self::Section>) -> Result<FlavorParts, ConfigError> {
        let config = ServiceNowConfig::from_section(
            setup.section,
            setup.metadata_ttl,
            setup.metadata_capacity,
        );
        let (pipeline, filterer) = servicenow::pipeline(setup.api, &config);
        Ok(FlavorParts {
            pipeline,
            caches: Arc::new(MetadataCaches::new(
                "servicenow_instances",
                filterer,
                ServiceNowFilterer::metadata_cache,
            )),
        })
    }

    fn envelope_raw(
        args: &ServiceNowRawArgs,
        org_id: u64,
        raw: &[u8],
    ) -> Option<Result<Vec<u8>, DecodeError>> {
        let instance = args.instance_name.as_deref()?;
        Some(servicenow::envelope(org_id, instance, raw))
    }
}

fn main() -> ExitCode {
    reader_app::main::<ServiceNow>()
}
