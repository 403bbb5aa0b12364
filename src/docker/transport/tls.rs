//! TLS for `tcp://` endpoints: the client configuration made from an endpoint's files
//! ([`client_config`]), a sentence for a handshake that failed ([`explain`]), and the question
//! whether a daemon spoken to in plain HTTP wants TLS ([`speaks_tls`]).
//!
//! rustls on ring, as bollard's own `ssl` feature; the connection it gives is wrapped by the
//! transport's bounds like any other ([`super::Transport`]).

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::docker::endpoint::Tls;

/// The client side of an endpoint's TLS, or a sentence naming the file at fault.
pub fn client_config(tls: &Tls) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS cannot be set up: {e}"))?;
    let builder = if tls.verify {
        let Some(ca) = &tls.ca else {
            return Err(format!(
                "{} ask for TLS with the daemon's certificate verified, but {} holds no ca.pem \
                 (the CA that signed the daemon's certificate): copy it there, or point \
                 DOCKER_CERT_PATH at the folder that has ca.pem, cert.pem and key.pem",
                tls.from,
                tls.dir.display()
            ));
        };
        let mut roots = RootCertStore::empty();
        for cert in certificates(ca)? {
            roots.add(cert).map_err(|e| {
                format!("{} is not a CA certificate TLS can use: {e}", ca.display())
            })?;
        }
        builder.with_root_certificates(roots)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
    };
    let config = match (&tls.cert, &tls.key) {
        (Some(cert), Some(key_file)) => {
            let chain = certificates(cert)?;
            let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| {
                format!(
                    "{} holds no private key TLS can read ({e}); it must be the PEM key of {}",
                    key_file.display(),
                    cert.display()
                )
            })?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                format!(
                    "the client certificate {} and key {} do not go together: {e}",
                    cert.display(),
                    key_file.display()
                )
            })?
        }
        (Some(cert), None) => {
            return Err(format!(
                "{} has a client certificate but no key.pem beside it: put the key of {} there",
                tls.dir.display(),
                cert.display()
            ))
        }
        (None, Some(key)) => {
            return Err(format!(
                "{} has a client key but no cert.pem beside it: put the certificate of {} there",
                tls.dir.display(),
                key.display()
            ))
        }
        (None, None) => builder.with_no_client_auth(),
    };
    // No session resumption: a forking TLS proxy (socat) answers a resumed session of another
    // child with an internal-error alert; a full handshake per request costs about a millisecond.
    let mut config = config;
    config.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(config))
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{} is not a PEM certificate: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no PEM certificate", path.display()));
    }
    Ok(certs)
}

/// The name the daemon's certificate must carry: the host of `host:port`.
pub fn server_name(host_port: &str) -> Result<ServerName<'static>, String> {
    let host = match host_port.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host_port,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_string())
        .map_err(|e| format!("`{host}` is not a host name TLS can verify: {e}"))
}

/// The rustls error under `e`, if a TLS failure ended it.
pub fn rustls_error(e: &(dyn std::error::Error + 'static)) -> Option<rustls::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r.clone());
        }
        let io = match err.downcast_ref::<bollard::errors::Error>() {
            // bollard's IOError does not give its io::Error as a source.
            Some(bollard::errors::Error::IOError { err }) => Some(err),
            _ => err.downcast_ref::<io::Error>(),
        };
        if let Some(r) = io
            .and_then(|io| io.get_ref())
            .and_then(|i| i.downcast_ref::<rustls::Error>())
        {
            return Some(r.clone());
        }
        cur = err.source();
    }
    None
}

/// What a TLS failure means for the learner: the cause and the files involved.
pub fn explain(e: &rustls::Error, url: &str, tls: &Tls) -> String {
    use rustls::{AlertDescription as A, CertificateError as C};
    let ca = tls
        .ca
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "ca.pem".to_string());
    let cert = tls
        .cert
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| format!("{} (none there)", tls.dir.join("cert.pem").display()));
    match e {
        rustls::Error::InvalidCertificate(c) => {
            let why = match c {
                C::UnknownIssuer | C::BadSignature => {
                    format!("it is not signed by the CA in {ca}")
                }
                C::NotValidForName | C::NotValidForNameContext { .. } => {
                    format!("it is not made out to the host of {url}")
                }
                C::Expired | C::ExpiredContext { .. } => "it has expired".to_string(),
                C::NotValidYet | C::NotValidYetContext { .. } => {
                    "it is not valid yet (is this machine's clock right?)".to_string()
                }
                other => format!("{other:?}"),
            };
            format!(
                "certificate verify failed: the daemon at {url} showed a certificate TLS rejects: \
                 {why} ({e}).\nPoint DOCKER_CERT_PATH (or the docker context) at the CA of this \
                 daemon, and check that `docker --tlsverify info` works with the same settings"
            )
        }
        rustls::Error::AlertReceived(
            A::BadCertificate
            | A::CertificateRequired
            | A::UnknownCA
            | A::CertificateUnknown
            | A::AccessDenied
            | A::HandshakeFailure
            | A::UnsupportedCertificate
            | A::CertificateRevoked
            | A::CertificateExpired,
        ) => format!(
            "the daemon at {url} refused this client's TLS certificate {cert} ({e}): it wants a \
             client certificate signed by its own CA.\nPut that cert.pem and key.pem in {}",
            tls.dir.display()
        ),
        rustls::Error::InvalidMessage(_) => format!(
            "the daemon at {url} does not speak TLS ({e}): it answers plain HTTP.\nUnset \
             DOCKER_TLS_VERIFY and DOCKER_TLS (a docker context: remove its TLS material), or \
             point at the daemon's TLS port (2376)"
        ),
        other => format!("TLS with the daemon at {url} failed: {other}"),
    }
}

/// Whether the server at `host_port` answers a TLS hello as a TLS server does: asked when a
/// plain HTTP request to it was cut or refused. A TLS server answers the hello with its own (or
/// with an alert); a plain HTTP server answers with an HTTP error, which rustls cannot parse.
/// `false` when it cannot be told within `wait`.
pub async fn speaks_tls(host_port: &str, wait: Duration) -> bool {
    let attempt = async {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .ok()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
            .with_no_client_auth();
        let name = server_name(host_port)
            .unwrap_or_else(|_| ServerName::try_from("docker").expect("a valid name"));
        let tcp = tokio::net::TcpStream::connect(host_port).await.ok()?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        Some(match connector.connect(name, tcp).await {
            Ok(_) => true,
            Err(e) => !matches!(
                rustls_error(&e),
                None | Some(rustls::Error::InvalidMessage(_))
            ),
        })
    };
    tokio::time::timeout(wait, attempt)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// DOCKER_TLS without DOCKER_TLS_VERIFY, or a context with SkipTLSVerify: encrypted, any
/// certificate accepted (the docker CLI's `InsecureSkipVerify`). Signatures are still checked
/// with the provider's algorithms, so the handshake itself is sound.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
