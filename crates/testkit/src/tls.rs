//! Kafka over TLS for tests: a certificate authority made in the test ([`TestPki`], rcgen),
//! and Tansu behind Debian's stunnel as the TLS terminator ([`TlsTansu`]), advertising the
//! TLS port, so every client connection (bootstrap, then the advertised broker) is TLS.
//!
//! ```no_run
//! use testkit::broker::TestBroker;
//! use testkit::tls::{ClientCertificates, TlsTansu};
//!
//! # fn example() -> Result<(), testkit::HarnessError> {
//! let dir = tempfile::tempdir().map_err(|e| testkit::HarnessError::Io {
//!     action: "tempdir".into(),
//!     source: e,
//! })?;
//! let broker = TlsTansu::start(dir.path(), ClientCertificates::Required)?;
//! broker.create_topic("events", 3)?;
//! // librdkafka properties of a client that trusts the test CA and shows its certificate:
//! let properties = broker.client_properties();
//! assert_eq!(properties["security.protocol"], "ssl");
//! # Ok(())
//! # }
//! ```

use crate::broker::{TansuBroker, TestBroker};
use crate::error::{HarnessError, STUNNEL_BIN_ENV, io};
use crate::net::{free_port, wait_listening};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn tls_error(action: &str) -> impl FnOnce(rcgen::Error) -> HarnessError + '_ {
    move |e| HarnessError::Tls {
        action: action.to_owned(),
        detail: e.to_string(),
    }
}

/// PEM files of a test certificate authority, a server certificate for `127.0.0.1` and
/// `localhost` and a client certificate, all signed by it, plus a second, unrelated CA (for
/// "wrong CA" tests). Written to the directory given to [`TestPki::create`].
#[derive(Debug, Clone)]
pub struct TestPki {
    /// The CA certificate that signed the server and client certificates.
    pub ca: PathBuf,
    /// Another CA's certificate: it signed nothing here.
    pub other_ca: PathBuf,
    /// The server certificate.
    pub server_cert: PathBuf,
    /// The server's private key.
    pub server_key: PathBuf,
    /// The client certificate (CN `case-third-party-reader`).
    pub client_cert: PathBuf,
    /// The client's private key.
    pub client_key: PathBuf,
}

/// A self-signed test certificate authority named `name` (rcgen).
pub fn test_ca(
    name: &str,
) -> Result<rcgen::CertifiedIssuer<'static, rcgen::KeyPair>, HarnessError> {
    let mut params =
        rcgen::CertificateParams::new(Vec::<String>::new()).map_err(tls_error("a CA"))?;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let key = rcgen::KeyPair::generate().map_err(tls_error("a CA key"))?;
    rcgen::CertifiedIssuer::self_signed(params, key).map_err(tls_error("signing a CA"))
}

impl TestPki {
    /// Makes the certificates and writes them to `dir`.
    pub fn create(dir: &Path) -> Result<Self, HarnessError> {
        let ca = test_ca("kafka test CA")?;
        let other = test_ca("some other CA")?;
        let server_key = rcgen::KeyPair::generate().map_err(tls_error("a server key"))?;
        let server = rcgen::CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
            .map_err(tls_error("server certificate parameters"))?
            .signed_by(&server_key, &ca)
            .map_err(tls_error("signing the server certificate"))?;
        let client_key = rcgen::KeyPair::generate().map_err(tls_error("a client key"))?;
        let mut client_params = rcgen::CertificateParams::new(Vec::<String>::new())
            .map_err(tls_error("client certificate parameters"))?;
        client_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "case-third-party-reader");
        client_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let client = client_params
            .signed_by(&client_key, &ca)
            .map_err(tls_error("signing the client certificate"))?;
        let pki = Self {
            ca: dir.join("kafka-ca.pem"),
            other_ca: dir.join("other-ca.pem"),
            server_cert: dir.join("kafka-server.pem"),
            server_key: dir.join("kafka-server.key"),
            client_cert: dir.join("kafka-client.pem"),
            client_key: dir.join("kafka-client.key"),
        };
        for (path, pem) in [
            (&pki.ca, ca.pem()),
            (&pki.other_ca, other.pem()),
            (&pki.server_cert, server.pem()),
            (&pki.server_key, server_key.serialize_pem()),
            (&pki.client_cert, client.pem()),
            (&pki.client_key, client_key.serialize_pem()),
        ] {
            std::fs::write(path, pem).map_err(io(format!("writing {}", path.display())))?;
        }
        Ok(pki)
    }
}

/// Whether the TLS terminator asks clients for a certificate signed by the test CA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientCertificates {
    /// Server authentication only (`security.protocol=ssl` with `ssl.ca.location`).
    NotRequested,
    /// Mutual TLS: a client without a certificate from the test CA is refused.
    Required,
}

/// stunnel terminating TLS on one loopback port and forwarding to another.
#[derive(Debug)]
pub struct Stunnel {
    child: Child,
    port: u16,
    log: PathBuf,
}

/// The stunnel binary: `STUNNEL_BIN`, else `stunnel` or `stunnel4` on `PATH`.
pub fn stunnel_binary() -> Result<PathBuf, HarnessError> {
    if let Some(bin) = std::env::var_os(STUNNEL_BIN_ENV) {
        let bin = PathBuf::from(bin);
        return if bin.is_file() {
            Ok(bin)
        } else {
            Err(HarnessError::StunnelMissing {
                detail: format!("{STUNNEL_BIN_ENV}={} is not a file", bin.display()),
            })
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| [dir.join("stunnel"), dir.join("stunnel4")])
        .find(|bin| bin.is_file())
        .ok_or_else(|| HarnessError::StunnelMissing {
            detail: format!("{STUNNEL_BIN_ENV} is unset and no stunnel or stunnel4 is on PATH"),
        })
}

impl Stunnel {
    /// Accepts TLS on a free loopback port with `pki`'s server certificate and forwards the
    /// plaintext to `127.0.0.1:connect_port`.
    pub fn start(
        dir: &Path,
        pki: &TestPki,
        connect_port: u16,
        clients: ClientCertificates,
    ) -> Result<Self, HarnessError> {
        Self::start_on(dir, pki, free_port()?, connect_port, clients)
    }

    /// Like [`Stunnel::start`], on `port`.
    pub fn start_on(
        dir: &Path,
        pki: &TestPki,
        port: u16,
        connect_port: u16,
        clients: ClientCertificates,
    ) -> Result<Self, HarnessError> {
        let bin = stunnel_binary()?;
        let log = dir.join(format!("stunnel-{port}.log"));
        let mut conf = format!(
            "foreground = yes\npid =\ndebug = info\noutput = {log}\n\n[kafka]\naccept = 127.0.0.1:{port}\nconnect = 127.0.0.1:{connect_port}\ncert = {cert}\nkey = {key}\n",
            log = log.display(),
            cert = pki.server_cert.display(),
            key = pki.server_key.display(),
        );
        if clients == ClientCertificates::Required {
            conf.push_str(&format!(
                "verifyChain = yes\nrequireCert = yes\nCAfile = {}\n",
                pki.ca.display()
            ));
        }
        let conf_path = dir.join(format!("stunnel-{port}.conf"));
        std::fs::write(&conf_path, conf).map_err(io("writing the stunnel configuration"))?;
        let child = Command::new(&bin)
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(io(format!("starting {}", bin.display())))?;
        let mut stunnel = Self { child, port, log };
        stunnel.wait_ready(Duration::from_secs(15))?;
        Ok(stunnel)
    }

    /// The TLS port.
    pub fn port(&self) -> u16 {
        self.port
    }

    fn wait_ready(&mut self, limit: Duration) -> Result<(), HarnessError> {
        wait_listening(&mut self.child, self.port, &self.log, limit).map_err(|detail| {
            HarnessError::Tls {
                action: "start stunnel".into(),
                detail,
            }
        })
    }
}

impl Drop for Stunnel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Tansu reachable only over TLS: the broker advertises stunnel's port, so a client that
/// bootstraps there is sent back there for every request. Topics are created through the
/// broker's own plaintext listener (the test's administration, not a client's path).
pub struct TlsTansu {
    stunnel: Stunnel,
    tansu: TansuBroker,
    pki: TestPki,
    clients: ClientCertificates,
}

impl std::fmt::Debug for TlsTansu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::debug_one_field(f, "TlsTansu", "tls_port", &self.stunnel.port())
    }
}

impl TlsTansu {
    /// Makes a [`TestPki`] in `dir`, starts Tansu advertising a free port and stunnel on that
    /// port in front of it.
    pub fn start(dir: &Path, clients: ClientCertificates) -> Result<Self, HarnessError> {
        let pki = TestPki::create(dir)?;
        let port = free_port()?;
        let tansu = TansuBroker::start_advertising(port)?;
        let stunnel = Stunnel::start_on(dir, &pki, port, tansu.listen_port(), clients)?;
        Ok(Self {
            stunnel,
            tansu,
            pki,
            clients,
        })
    }

    /// The certificates (their files).
    pub fn pki(&self) -> &TestPki {
        &self.pki
    }

    /// The librdkafka properties of a client this broker accepts: `security.protocol=ssl`,
    /// the test CA, and with [`ClientCertificates::Required`] the client certificate and key.
    pub fn client_properties(&self) -> BTreeMap<String, String> {
        let mut properties = BTreeMap::from([
            ("security.protocol".to_owned(), "ssl".to_owned()),
            (
                "ssl.ca.location".to_owned(),
                self.pki.ca.display().to_string(),
            ),
        ]);
        if self.clients == ClientCertificates::Required {
            properties.insert(
                "ssl.certificate.location".into(),
                self.pki.client_cert.display().to_string(),
            );
            properties.insert(
                "ssl.key.location".into(),
                self.pki.client_key.display().to_string(),
            );
        }
        properties
    }

    /// The Tansu process's id (to kill it).
    pub fn tansu_pid(&self) -> u32 {
        self.tansu.pid()
    }
}

impl TestBroker for TlsTansu {
    fn bootstrap_servers(&self) -> String {
        format!("127.0.0.1:{}", self.stunnel.port())
    }

    fn create_topic(&self, topic: &str, partitions: i32) -> Result<(), HarnessError> {
        self.tansu.create_topic(topic, partitions)
    }
}
