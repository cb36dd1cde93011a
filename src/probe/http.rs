//! The HTTP side of steady-state probing: one kept hyper client per probe (rustls for https, no
//! OpenSSL). Connection reuse is off unless the scenario turns it on, so every request opens a
//! fresh connection as a new client would, and a dead instance cannot hide behind a kept socket.

use std::sync::Arc;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper::header::{CONNECTION, USER_AGENT};
use hyper::{Request, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use regex::Regex;

use crate::scenario::HttpProbe;

/// The most of a response body read to match `body` against.
const MAX_BODY: usize = 1 << 20;

/// A prepared HTTP check with its client.
#[derive(Debug)]
pub struct HttpCheck {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    uri: Uri,
    expect: u16,
    body: Option<Regex>,
    reuse: bool,
}

/// What one request came to: the status when an answer came, and why it failed, if it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpOutcome {
    /// The status code, when a response arrived.
    pub status: Option<u16>,
    /// Why the request counts as failed.
    pub error: Option<String>,
}

/// Parses and checks a probe URL: http or https, with a host.
pub fn parse_url(url: &str) -> Result<Uri, String> {
    let uri: Uri = url
        .parse()
        .map_err(|e| format!("{url:?} is not a URL ({e}); write http://host:port/path"))?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        _ => {
            return Err(format!(
                "{url:?} must start with http:// or https://, such as http://127.0.0.1:8080/"
            ))
        }
    }
    if !uri.host().is_some_and(|h| !h.is_empty()) {
        return Err(format!("{url:?} names no host"));
    }
    Ok(uri)
}

/// The TLS side of the connector: the system's trust store for https, as a client on this
/// machine would use; nothing for plain http.
fn connector(https: bool) -> Result<HttpsConnector<HttpConnector>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let builder = if https {
        builder
            .with_provider_and_native_roots(provider)
            .map_err(|e| format!("no trusted root certificates for https: {e}"))?
    } else {
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup: {e}"))?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        builder.with_tls_config(config)
    };
    Ok(builder.https_or_http().enable_http1().build())
}

impl HttpCheck {
    /// Builds the check and its client.
    pub fn new(probe: &HttpProbe) -> Result<HttpCheck, String> {
        let uri = parse_url(&probe.url)?;
        let body = probe
            .body
            .as_deref()
            .map(Regex::new)
            .transpose()
            .map_err(|e| format!("body regex: {e}"))?;
        let connector = connector(uri.scheme_str() == Some("https"))?;
        let idle = if probe.reuse_connections {
            usize::MAX
        } else {
            0
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(idle)
            .build(connector);
        Ok(HttpCheck {
            client,
            uri,
            expect: probe.expect,
            body,
            reuse: probe.reuse_connections,
        })
    }

    /// Sends one GET and judges the answer. The caller bounds it with the probe's timeout.
    pub async fn request(&self) -> HttpOutcome {
        let mut req = Request::get(self.uri.clone()).header(USER_AGENT, "firedrill-probe");
        if !self.reuse {
            req = req.header(CONNECTION, "close");
        }
        let req = match req.body(Empty::<Bytes>::new()) {
            Ok(r) => r,
            Err(e) => return failed(None, format!("cannot build the request: {e}")),
        };
        let resp = match self.client.request(req).await {
            Ok(r) => r,
            Err(e) => return failed(None, error_chain(&e)),
        };
        let status = resp.status().as_u16();
        // The body is read whole either way: a response that breaks off mid-body failed.
        let bytes = match Limited::new(resp.into_body(), MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => return failed(Some(status), format!("reading the body: {e}")),
        };
        if status != self.expect {
            return failed(
                Some(status),
                format!("answered {status}, expected {}", self.expect),
            );
        }
        if let Some(re) = &self.body {
            if !re.is_match(&String::from_utf8_lossy(&bytes)) {
                return failed(Some(status), format!("body does not match /{re}/"));
            }
        }
        HttpOutcome {
            status: Some(status),
            error: None,
        }
    }
}

fn failed(status: Option<u16>, error: String) -> HttpOutcome {
    HttpOutcome {
        status,
        error: Some(error),
    }
}

/// An error and its sources, so "client error (Connect)" says what the connect hit.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
