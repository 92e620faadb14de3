//! `check-config`: validate the configuration and what it points at, print a report.

use crate::config::RawConfig;
use crate::flavor::Flavor;
use crate::settings::ReaderSettings;
use case_client::AuthToken;
use kafka_runtime::ConsumerConfig;
use kafka_runtime::security::{self, SecurityProtocol};
use std::io::Write;
use std::time::Duration;
use thirdparty_core::{CaseApi, OrgId};

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CheckLine {
    /// `ok`, `warn` or `fail`.
    pub(crate) level: &'static str,
    /// What was checked.
    pub(crate) what: String,
    /// What was found.
    pub(crate) detail: String,
}

impl CheckLine {
    fn new(level: &'static str, what: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            level,
            what: what.into(),
            detail: detail.into(),
        }
    }
}

/// Checks the configuration (and unless `offline`, the broker and the Case API with the
/// project mappings it serves). Returns the report lines; any `fail` means exit 1.
pub(crate) async fn check<F: Flavor>(
    raw: &RawConfig,
    settings: &ReaderSettings,
    api: Option<&dyn CaseApi>,
) -> Vec<CheckLine> {
    let mut lines = Vec::new();
    for (key, shown, source) in raw.report() {
        lines.push(CheckLine::new(
            "ok",
            format!("config {key}"),
            format!("{shown} ({source})"),
        ));
    }
    lines.push(CheckLine::new(
        "ok",
        "tls crypto provider",
        format!(
            "{} for the Case API and OTLP connections",
            case_client::tls::CRYPTO_PROVIDER_NAME
        ),
    ));
    lines.push(kafka_security_line(&settings.consumer));
    lines.push(case_api_token_line(settings));
    for (key, source) in raw.unknown_keys() {
        lines.push(CheckLine::new(
            "warn",
            format!("config {key}"),
            format!("unknown key ({source}); it is ignored — check its spelling"),
        ));
    }
    let Some(api) = api else {
        return lines;
    };

    match kafka_runtime::probe_topic(&settings.consumer, Duration::from_secs(10)).await {
        Ok(probe) => lines.push(CheckLine::new(
            "ok",
            format!("kafka topic {}", settings.consumer.topic),
            format!(
                "{} partition(s), {} broker(s)",
                probe.partitions.len(),
                probe.brokers
            ),
        )),
        Err(e) => lines.push(CheckLine::new("fail", "kafka", e.to_string())),
    }
    if let Some(line) = check_dead_letter_topic(settings).await {
        lines.push(line);
    }

    match api.list_integration_orgs(F::NAME).await {
        Ok(orgs) => {
            lines.push(CheckLine::new(
                "ok",
                "case api",
                format!("{} organisation(s) have {} configured", orgs.len(), F::NAME),
            ));
            for org in orgs {
                check_org::<F>(api, org, &mut lines).await;
            }
        }
        Err(e) => lines.push(CheckLine::new("fail", "case api", e.to_string())),
    }
    lines
}

/// How the Kafka connections are secured, and whether this build can do it: librdkafka does
/// TLS and SASL/SCRAM with its own OpenSSL (or none, in a build without `kafka-tls`), never
/// with the Case API's crypto provider.
fn kafka_security_line(consumer: &ConsumerConfig) -> CheckLine {
    let what = "kafka security";
    let built = security::built_in();
    let property = |key: &str| consumer.librdkafka_overrides.get(key).map(String::as_str);
    let tls_built = if built.has("ssl") {
        format!(
            "librdkafka {} with OpenSSL (ssl, sasl_ssl; SASL {})",
            built.librdkafka_version,
            built.sasl_mechanisms().join(", ")
        )
    } else {
        format!(
            "librdkafka {} without TLS (this build lacks the `kafka-tls` feature, as the FIPS build does; SASL {})",
            built.librdkafka_version,
            built.sasl_mechanisms().join(", ")
        )
    };
    let protocol = SecurityProtocol::of(consumer);
    if protocol == SecurityProtocol::Other {
        return CheckLine::new(
            "fail",
            what,
            format!(
                "security.protocol = {}: not one of plaintext, ssl, sasl_plaintext, sasl_ssl",
                property("security.protocol").unwrap_or_default()
            ),
        );
    }
    if !built.supports(protocol) {
        return CheckLine::new(
            "fail",
            what,
            format!(
                "security.protocol = {}, but {tls_built}: run a build with Kafka TLS (the default build), or connect with plaintext / sasl_plaintext",
                protocol.name()
            ),
        );
    }
    let mut detail = vec![format!("{} through {tls_built}", protocol.name())];
    if protocol.uses_tls() {
        detail.push(match property("ssl.ca.location") {
            Some(ca) => format!("brokers verified against {ca}"),
            None => "brokers verified against the system CA certificates (librdkafka probes the usual paths)".to_owned(),
        });
        if let Some(cert) = property("ssl.certificate.location") {
            detail.push(format!("client certificate {cert}"));
        }
    }
    if matches!(
        protocol,
        SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
    ) {
        let mechanism = property("sasl.mechanisms")
            .or_else(|| property("sasl.mechanism"))
            .unwrap_or("GSSAPI");
        if !built.has_sasl_mechanism(mechanism) {
            return CheckLine::new(
                "fail",
                what,
                format!(
                    "sasl.mechanisms = {mechanism} is not built in ({tls_built}); set sasl.mechanisms to one of those"
                ),
            );
        }
        detail.push(format!("SASL {mechanism}"));
    }
    CheckLine::new("ok", what, detail.join("; "))
}

/// Where the Case API bearer token comes from, and whether its file can be read now (the
/// token itself is never shown).
fn case_api_token_line(settings: &ReaderSettings) -> CheckLine {
    let what = "case api token";
    let Some(token) = &settings.case_api.auth else {
        return CheckLine::new("ok", what, "none: calls carry no authorization header");
    };
    match (token.check(), token) {
        (Err(why), _) => CheckLine::new("fail", what, why),
        (Ok(bytes), AuthToken::Inline(_)) => CheckLine::new(
            "ok",
            what,
            format!(
                "<redacted> (case_api.auth_token, {bytes} bytes), sent as `authorization: Bearer …`"
            ),
        ),
        (Ok(bytes), AuthToken::File(path)) => CheckLine::new(
            "ok",
            what,
            format!(
                "from {} ({bytes} bytes, <redacted>), read again when it changes",
                path.display()
            ),
        ),
    }
}

/// The dead-letter topic's line: it must exist with a leader for every partition (the
/// reader never creates it). `None` when `[kafka] dead_letter` is off.
async fn check_dead_letter_topic(settings: &ReaderSettings) -> Option<CheckLine> {
    let topic = settings.consumer.dead_letter.as_ref()?.topic.clone();
    let what = format!("kafka dead-letter topic {topic}");
    Some(
        match kafka_runtime::probe_dead_letter_topic(&settings.consumer, Duration::from_secs(10))
            .await
        {
            Ok(Some(probe)) => CheckLine::new(
                "ok",
                what,
                format!(
                    "{} partition(s), every one with a leader",
                    probe.partitions.len()
                ),
            ),
            Ok(None) => return None,
            Err(e) => CheckLine::new(
                "fail",
                what,
                format!(
                    "{e}; create it before starting the reader (e.g. `kafka-topics --bootstrap-server {} --create --topic {topic} --partitions <as many as {}> --replication-factor 3`), or set `[kafka] dead_letter = false`",
                    settings.consumer.brokers, settings.consumer.topic
                ),
            ),
        },
    )
}

async fn check_org<F: Flavor>(api: &dyn CaseApi, org: OrgId, lines: &mut Vec<CheckLine>) {
    let metadata = match api.list_integration_metadata(org, F::NAME).await {
        Ok(m) => m,
        Err(e) => {
            lines.push(CheckLine::new(
                "fail",
                format!("org {org} metadata"),
                e.to_string(),
            ));
            return;
        }
    };
    for m in metadata {
        let what = format!(
            "org {org} {} {} → project {}",
            m.account_id,
            m.project_id.as_deref().unwrap_or("*"),
            m.case_project_id
        );
        match api
            .get_project_settings(org, &m.case_project_id, F::NAME)
            .await
        {
            Ok(Some(s)) => {
                let mut problems = Vec::new();
                if !s.integration_enabled {
                    problems.push("integration disabled".to_owned());
                }
                if !s.project_sync_enabled {
                    problems.push("project sync disabled".to_owned());
                }
                if !s.sync_direction.pulls() {
                    problems.push(format!("direction {:?} pulls nothing", s.sync_direction));
                }
                if s.custom_fields != m.custom_fields {
                    problems.push("metadata custom fields differ from the settings' (the prefilter uses the metadata)".to_owned());
                }
                let mappings: Vec<String> = s
                    .value_mappings
                    .iter()
                    .map(|(f, m)| format!("{f}: {} value(s)", m.len()))
                    .collect();
                let detail = format!(
                    "mappings [{}], custom fields {}",
                    mappings.join(", "),
                    s.custom_fields.len()
                );
                if problems.is_empty() {
                    lines.push(CheckLine::new("ok", what, detail));
                } else {
                    lines.push(CheckLine::new(
                        "warn",
                        what,
                        format!("{detail}; {}", problems.join("; ")),
                    ));
                }
            }
            Ok(None) => lines.push(CheckLine::new(
                "warn",
                what,
                "no project settings: every event of this scope is filtered as project_not_found",
            )),
            Err(e) => lines.push(CheckLine::new("fail", what, e.to_string())),
        }
    }
}

/// Prints the report; returns whether nothing failed.
pub(crate) fn print_report(lines: &[CheckLine], out: &mut dyn Write) -> std::io::Result<bool> {
    let width = lines.iter().map(|l| l.what.len()).max().unwrap_or(0);
    for l in lines {
        writeln!(out, "{:4}  {:width$}  {}", l.level, l.what, l.detail)?;
    }
    let failed = lines.iter().filter(|l| l.level == "fail").count();
    let warned = lines.iter().filter(|l| l.level == "warn").count();
    writeln!(out, "check-config: {failed} failed, {warned} warning(s)")?;
    Ok(failed == 0)
}
