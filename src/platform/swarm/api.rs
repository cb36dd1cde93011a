//! The manager's Swarm API calls that bollard 0.18 lacks (`GET /services?status=true`,
//! `/tasks`, `/tasks/{id}`, `/nodes`): one GET per fresh connection, over the same endpoint
//! kinds as firedrill's Docker client (unix socket, plain tcp, tcp with TLS client
//! certificates). A fresh connection per call keeps a half-dead keep-alive connection from
//! hiding a manager that went away.

use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};

use crate::platform::docker::connect::Endpoint;
use crate::platform::PlatformError;

/// How long one call may take, connection included.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// GETs against one manager's API.
#[derive(Clone)]
pub struct ManagerApi {
    endpoint: Endpoint,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl ManagerApi {
    /// A client for `endpoint`; TLS certificates are read now, so a missing one is an error
    /// before anything is killed.
    pub fn new(endpoint: &Endpoint) -> Result<ManagerApi, PlatformError> {
        let tls = match endpoint {
            Endpoint::Tls { cert_dir, .. } => {
                Some(Arc::new(tls_config(cert_dir).map_err(|reason| {
                    PlatformError::Unreachable {
                        endpoint: endpoint.to_string(),
                        reason,
                    }
                })?))
            }
            _ => None,
        };
        Ok(ManagerApi {
            endpoint: endpoint.clone(),
            tls,
        })
    }

    /// `GET path` (with its query), decoded from JSON. `Err` says what failed, naming the
    /// endpoint.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, String> {
        let body = tokio::time::timeout(CALL_TIMEOUT, self.get_bytes(path))
            .await
            .map_err(|_| format!("GET {path} on {} timed out", self.endpoint))??;
        serde_json::from_slice(&body)
            .map_err(|e| format!("GET {path} on {}: unexpected answer: {e}", self.endpoint))
    }

    async fn get_bytes(&self, path: &str) -> Result<Bytes, String> {
        let fail = |e: &dyn std::fmt::Display| format!("GET {path} on {}: {e}", self.endpoint);
        let request = hyper::Request::get(path)
            .header(hyper::header::HOST, "docker")
            .body(Empty::<Bytes>::new())
            .map_err(|e| fail(&e))?;
        let (status, body) = match (&self.endpoint, &self.tls) {
            (Endpoint::Unix(socket), _) => {
                let io = UnixStream::connect(socket).await.map_err(|e| fail(&e))?;
                send(io, request).await
            }
            (Endpoint::Tcp(addr), _) => {
                let io = TcpStream::connect(addr.as_str())
                    .await
                    .map_err(|e| fail(&e))?;
                send(io, request).await
            }
            (Endpoint::Tls { addr, .. }, Some(config)) => {
                let host = addr.rsplit_once(':').map_or(addr.as_str(), |(h, _)| h);
                let host = host.trim_start_matches('[').trim_end_matches(']');
                let name = rustls::pki_types::ServerName::try_from(host.to_string())
                    .map_err(|e| fail(&e))?;
                let tcp = TcpStream::connect(addr.as_str())
                    .await
                    .map_err(|e| fail(&e))?;
                let io = tokio_rustls::TlsConnector::from(config.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(|e| fail(&e))?;
                send(io, request).await
            }
            (Endpoint::Tls { .. }, None) => Err("TLS is not configured".to_string()),
        }
        .map_err(|e| fail(&e))?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            return Err(fail(&format!("{status}: {}", text.trim())));
        }
        Ok(body)
    }
}

/// Sends one request on a new HTTP/1 connection and reads the whole answer.
async fn send<S>(
    io: S,
    request: hyper::Request<Empty<Bytes>>,
) -> Result<(hyper::StatusCode, Bytes), String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        // Ends when the answer is read and the sender dropped.
        let _ = conn.await;
    });
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}

/// A TLS client configuration from `ca.pem`, `cert.pem` and `key.pem` in `dir`, as the docker
/// CLI reads them; the server certificate is always verified against `ca.pem`.
fn tls_config(dir: &Path) -> Result<rustls::ClientConfig, String> {
    let open = |name: &str| {
        let path = dir.join(name);
        std::fs::File::open(&path)
            .map(BufReader::new)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut open("ca.pem")?) {
        let cert = cert.map_err(|e| format!("ca.pem: {e}"))?;
        roots.add(cert).map_err(|e| format!("ca.pem: {e}"))?;
    }
    let certs = rustls_pemfile::certs(&mut open("cert.pem")?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("cert.pem: {e}"))?;
    let key = rustls_pemfile::private_key(&mut open("key.pem")?)
        .map_err(|e| format!("key.pem: {e}"))?
        .ok_or_else(|| format!("{} holds no private key", dir.join("key.pem").display()))?;
    rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_client_auth_cert(certs, key)
        .map_err(|e| format!("client certificate: {e}"))
}

/// `?filters=` for the Docker API: JSON, URL-encoded.
pub fn filters_query(filters: &serde_json::Value) -> String {
    let json = filters.to_string();
    let mut out = String::with_capacity(json.len() * 3);
    for b in json.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    format!("filters={out}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_url_encoded_json() {
        let q = filters_query(&serde_json::json!({"service": ["web"]}));
        assert_eq!(q, "filters=%7B%22service%22%3A%5B%22web%22%5D%7D");
    }

    #[test]
    fn missing_certificates_name_the_file() {
        let err = tls_config(Path::new("/nonexistent/certs")).unwrap_err();
        assert!(err.contains("/nonexistent/certs/ca.pem"), "{err}");
    }
}
