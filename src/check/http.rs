//! The one HTTP client behind every check: hyper with rustls (no OpenSSL). For https it trusts
//! the system's store, as a client on this machine would; plain http needs no roots at all.
//! Connection reuse is chosen per client: off, every request opens a fresh connection as a new
//! client would, so a dead instance cannot hide behind a kept socket.

use std::sync::Arc;

use http_body_util::{BodyExt, Empty, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{CONNECTION, CONTENT_TYPE, USER_AGENT};
use hyper::{Method, Request, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use regex::Regex;

use super::Outcome;

/// The most of a response body read to match an expected body against.
const MAX_BODY: usize = 1 << 20;

/// Parses and checks an http or https URL with a host.
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

/// An HTTP client, with or without connection reuse.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    reuse: bool,
}

impl HttpClient {
    /// A client for `http` only (`https: false`) or for both, keeping connections between
    /// requests when `reuse` is set.
    pub fn new(https: bool, reuse: bool) -> Result<HttpClient, String> {
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(if reuse { usize::MAX } else { 0 })
            .build(connector(https)?);
        Ok(HttpClient { client, reuse })
    }

    /// Sends one GET and reads the whole answer (at most 1 MiB of body). The caller bounds it
    /// with its own timeout.
    pub async fn get(&self, uri: &Uri) -> Result<(u16, Bytes), (Option<u16>, String)> {
        let mut req = Request::get(uri.clone()).header(USER_AGENT, "firedrill");
        if !self.reuse {
            req = req.header(CONNECTION, "close");
        }
        let req = req
            .body(Empty::<Bytes>::new())
            .map_err(|e| (None, format!("cannot build the request: {e}")))?;
        let resp = self
            .client
            .request(req)
            .await
            .map_err(|e| (None, failure_kind(&e)))?;
        let status = resp.status().as_u16();
        // The body is read whole either way: a response that breaks off mid-body failed.
        let bytes = Limited::new(resp.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| (Some(status), format!("reading the body: {e}")))?
            .to_bytes();
        Ok((status, bytes))
    }
}

/// An HTTP client that sends a body: JSON to webhooks, metrics to a Pushgateway. Its errors
/// name only the kind of failure, never the URL: a webhook URL is often a secret, and hyper's
/// errors can carry the host.
#[derive(Debug, Clone)]
pub struct Uploader {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Uploader {
    /// A client for `http` only (`https: false`) or for both; it keeps connections, since a
    /// webhook is one endpoint called again and again.
    pub fn new(https: bool) -> Result<Uploader, String> {
        let client = Client::builder(TokioExecutor::new()).build(connector(https)?);
        Ok(Uploader { client })
    }

    /// Sends one PUT of `body` as `content_type` and reads the answer (at most 1 MiB of body).
    /// The caller bounds it with its own timeout.
    pub async fn put(
        &self,
        uri: &Uri,
        content_type: &str,
        body: Bytes,
    ) -> Result<(u16, Bytes), String> {
        let resp = self.send(Method::PUT, uri, content_type, body).await?;
        let status = resp.status().as_u16();
        let bytes = Limited::new(resp.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|_| format!("HTTP {status}, and the answer broke off"))?
            .to_bytes();
        Ok((status, bytes))
    }

    /// Sends one POST of `body` with `Content-Type: application/json` and returns the status
    /// once the answer's head has arrived. The caller bounds it with its own timeout.
    pub async fn post_json(&self, uri: &Uri, body: Bytes) -> Result<u16, String> {
        let resp = self
            .send(Method::POST, uri, "application/json", body)
            .await?;
        Ok(resp.status().as_u16())
    }

    /// Sends one request with a body; an error names only the kind of failure.
    async fn send(
        &self,
        method: Method,
        uri: &Uri,
        content_type: &str,
        body: Bytes,
    ) -> Result<hyper::Response<hyper::body::Incoming>, String> {
        let req = Request::builder()
            .method(method)
            .uri(uri.clone())
            .header(USER_AGENT, "firedrill")
            .header(CONTENT_TYPE, content_type)
            .body(Full::new(body))
            .map_err(|_| "cannot build the request".to_string())?;
        self.client.request(req).await.map_err(|e| failure_kind(&e))
    }
}

/// What kind of failure a request met, with its cause ("could not connect (connection
/// refused)"), in words that cannot contain its URL.
fn failure_kind(e: &hyper_util::client::legacy::Error) -> String {
    let mut io_error = None;
    let mut hyper_error = None;
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            io_error.get_or_insert(io);
        }
        if let Some(h) = s.downcast_ref::<hyper::Error>() {
            hyper_error.get_or_insert(h);
        }
        source = s.source();
    }
    let cause = io_error.map(io_cause);
    if e.is_connect() {
        return match cause {
            Some(cause) => format!("could not connect ({cause})"),
            None => "could not connect".to_string(),
        };
    }
    match hyper_error {
        Some(h) if h.is_incomplete_message() => "the connection closed before an answer".into(),
        Some(h) if h.is_parse() => "the answer was not HTTP/1".into(),
        Some(h) if h.is_timeout() => "timed out".into(),
        _ => match cause {
            Some(cause) => format!("the request failed ({cause})"),
            None => "the request failed".to_string(),
        },
    }
}

/// An I/O error in a few words: its kind ("connection refused", "timed out"), or, when the
/// kind says nothing ("other error", such as a failed name lookup), its own message without
/// the OS error number. Neither holds a URL.
pub fn io_cause(e: &std::io::Error) -> String {
    let kind = e.kind().to_string();
    if kind != "other error" && kind != "uncategorized error" {
        return kind;
    }
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// The TLS side of the connector: the system's trust store for https; nothing for plain http.
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

/// An HTTP GET and what makes its answer good: a status, and optionally a body pattern.
#[derive(Debug, Clone)]
pub struct HttpCheck {
    client: HttpClient,
    uri: Uri,
    expect: u16,
    body: Option<Regex>,
}

impl HttpCheck {
    /// A check of `uri` through `client`, passing on `expect` and a body matching `body`.
    pub fn new(client: HttpClient, uri: Uri, expect: u16, body: Option<Regex>) -> HttpCheck {
        HttpCheck {
            client,
            uri,
            expect,
            body,
        }
    }

    /// The URL it requests.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// Sends one GET and judges the answer. The caller bounds it with its timeout.
    pub async fn request(&self) -> Outcome {
        let (status, bytes) = match self.client.get(&self.uri).await {
            Ok(answer) => answer,
            Err((status, error)) => return Outcome::failed(status, error),
        };
        if status != self.expect {
            return Outcome::failed(
                Some(status),
                format!(
                    "GET {} answered {status}, expected {}",
                    self.uri.path(),
                    self.expect
                ),
            );
        }
        if let Some(re) = &self.body {
            if !re.is_match(&String::from_utf8_lossy(&bytes)) {
                return Outcome::failed(Some(status), format!("body does not match /{re}/"));
            }
        }
        Outcome {
            status: Some(status),
            error: None,
        }
    }
}
