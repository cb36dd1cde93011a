//! TLS to a Docker engine that trusts exactly the certificates in `ca.pem`, with the client
//! certificate and key from `cert.pem` and `key.pem`, as the docker CLI reads a
//! `DOCKER_CERT_PATH`. The system certificate store is never consulted: an engine whose
//! certificate some public CA signed is not the engine the user named, and firedrill kills
//! things on whatever engine it reaches.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bollard::{BollardRequest, ClientVersion, Docker};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// What is wrong with the certificates in a `DOCKER_CERT_PATH`; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file is missing or cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file holds no PEM block of the kind it must hold.
    #[error("{} holds no {what}", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
        /// `certificate` or `private key`.
        what: &'static str,
    },
    /// A file holds something rustls does not accept.
    #[error("{}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What rustls said.
        reason: String,
    },
}

/// The three files of a certificate folder.
struct CertFiles {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl CertFiles {
    fn in_dir(dir: &Path) -> CertFiles {
        CertFiles {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        }
    }
}

fn open(path: &Path) -> Result<BufReader<std::fs::File>, TlsError> {
    std::fs::File::open(path)
        .map(BufReader::new)
        .map_err(|source| TlsError::Unreadable {
            path: path.to_path_buf(),
            source,
        })
}

fn invalid(path: &Path, reason: impl std::fmt::Display) -> TlsError {
    TlsError::Invalid {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// A rustls client configuration whose only roots are the certificates in `dir/ca.pem` and
/// whose client identity is `dir/cert.pem` with `dir/key.pem`.
pub fn client_config(dir: &Path) -> Result<rustls::ClientConfig, TlsError> {
    let files = CertFiles::in_dir(dir);
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut open(&files.ca)?) {
        let cert = cert.map_err(|e| invalid(&files.ca, e))?;
        roots.add(cert).map_err(|e| invalid(&files.ca, e))?;
    }
    if roots.is_empty() {
        return Err(TlsError::Empty {
            path: files.ca,
            what: "certificate",
        });
    }
    let certs = rustls_pemfile::certs(&mut open(&files.cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(&files.cert, e))?;
    if certs.is_empty() {
        return Err(TlsError::Empty {
            path: files.cert,
            what: "certificate",
        });
    }
    let key = rustls_pemfile::private_key(&mut open(&files.key)?)
        .map_err(|e| invalid(&files.key, e))?
        .ok_or_else(|| TlsError::Empty {
            path: files.key.clone(),
            what: "private key",
        })?;
    // The provider is named rather than taken from the process default, so no other crate's
    // choice of crypto backend changes which one firedrill uses.
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(&files.ca, e))?
        .with_root_certificates(roots)
        .with_client_auth_cert(certs, key)
        .map_err(|e| invalid(&files.key, e))
}

/// A bollard client for the engine at `addr` (`host:port`) over TLS configured by
/// [`client_config`]. Nothing is sent yet; the caller pings.
pub fn connect(
    addr: &str,
    dir: &Path,
    timeout_secs: u64,
    version: &ClientVersion,
) -> Result<Docker, String> {
    let config = client_config(dir).map_err(|e| e.to_string())?;
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http1()
        .wrap_connector(http);
    let client = Arc::new(Client::builder(TokioExecutor::new()).build(https));
    Docker::connect_with_custom_transport(
        move |request: BollardRequest| {
            let client = Arc::clone(&client);
            async move {
                client
                    .request(request)
                    .await
                    .map_err(bollard::errors::Error::from)
            }
        },
        Some(format!("https://{addr}")),
        timeout_secs,
        version,
    )
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_folder_names_ca_pem() {
        let err = client_config(Path::new("/nonexistent/certs")).unwrap_err();
        assert!(matches!(err, TlsError::Unreadable { .. }));
        assert!(
            err.to_string().contains("/nonexistent/certs/ca.pem"),
            "{err}"
        );
    }

    #[test]
    fn an_empty_ca_pem_is_refused_rather_than_trusting_nothing_silently() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), "").unwrap();
        let err = client_config(dir.path()).unwrap_err();
        assert!(matches!(err, TlsError::Empty { .. }), "{err}");
        assert!(err.to_string().contains("ca.pem"), "{err}");
    }
}
