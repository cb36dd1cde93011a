//! The live `/metrics` endpoint of `firedrill run --metrics-listen`. Each scrape encodes the
//! numbers as they are at that moment; the run loop only ever takes the lock for one journal
//! line, so a scraper, however frequent, cannot hold a kill or a recovery mark back.

use std::convert::Infallible;
use std::net::SocketAddr;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{ACCEPT, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tracing::debug;

use super::encode::{self, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_TEXT_CONTENT_TYPE};
use super::LiveMetrics;

/// A running `/metrics` endpoint; it stops when dropped.
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl MetricsServer {
    /// Binds `addr` and serves `metrics` on it. Binding happens here, before the run starts,
    /// so a port in use fails the run before anything is killed.
    pub async fn bind(addr: SocketAddr, metrics: LiveMetrics) -> std::io::Result<MetricsServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(accept(listener, metrics));
        Ok(MetricsServer { addr, task })
    }

    /// The address it listens on (with the port chosen, when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept(listener: TcpListener, metrics: LiveMetrics) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, say: the next scrape may find one free.
                debug!("metrics endpoint: accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let metrics = metrics.clone();
                async move { Ok::<_, Infallible>(answer(&req, &metrics)) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                debug!("metrics endpoint: connection ended: {e}");
            }
        });
    }
}

/// OpenMetrics for a scraper that asks for it (Prometheus does), the Prometheus text format
/// for anything else (curl, an older scraper).
fn answer(req: &Request<Incoming>, metrics: &LiveMetrics) -> Response<Full<Bytes>> {
    if req.method() != Method::GET || req.uri().path() != "/metrics" {
        let mut not_found = Response::new(Full::new(Bytes::from_static(
            b"firedrill serves its metrics at /metrics\n",
        )));
        *not_found.status_mut() = StatusCode::NOT_FOUND;
        return not_found;
    }
    let openmetrics = req
        .headers()
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    let snapshot = metrics.snapshot();
    let (body, content_type) = if openmetrics {
        (encode::openmetrics(&snapshot), OPENMETRICS_CONTENT_TYPE)
    } else {
        (
            encode::prometheus_text(&snapshot),
            PROMETHEUS_TEXT_CONTENT_TYPE,
        )
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    if let Ok(value) = content_type.parse() {
        response.headers_mut().insert(CONTENT_TYPE, value);
    }
    response
}
