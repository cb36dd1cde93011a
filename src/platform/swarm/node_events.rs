//! One engine's event subscription for the swarm watcher, narrowed to Swarm task containers
//! (every node's engine) or to node changes (the manager's), that after a loss reconnects,
//! replays with the engine's own times everything since the last event seen, and only then
//! reports itself back.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::EventMessage;
use bollard::query_parameters::EventsOptions;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::nodes::NodeEngine;

/// Longest wait between reconnection attempts of one engine's subscription.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The service id label of a task container.
pub const SERVICE_LABEL: &str = "com.docker.swarm.service.id";

/// What one node's subscription tells the watcher loop. Loss and return travel in the same
/// channel as the events, so the platform is live again only after the replayed events were
/// handled.
pub enum Feed {
    /// A container event from the node's engine.
    Event(EventMessage),
    /// The subscription ended, and why.
    Lost(String),
    /// The subscription is back and has replayed everything since its last event.
    Back,
}

/// How one pass over an engine's event stream ended.
enum StreamEnd {
    Cancelled,
    /// The replay reached its `until`.
    Done,
    /// The stream failed or the engine closed it.
    Lost(String),
}

/// The events of Swarm task containers, which a node's engine reports.
pub fn task_containers() -> HashMap<String, Vec<String>> {
    HashMap::from([
        ("type".to_string(), vec!["container".to_string()]),
        ("label".to_string(), vec![SERVICE_LABEL.to_string()]),
    ])
}

/// The manager's node events: a node's availability, state or role changed.
pub fn swarm_nodes() -> HashMap<String, Vec<String>> {
    HashMap::from([("type".to_string(), vec!["node".to_string()])])
}

/// Follows one engine's events of one kind (`filters`), reconnecting from the last event seen. After a
/// loss it replays, with the engine's own times, everything up to the engine's clock now, and
/// only then reports itself back.
pub async fn subscribe(
    node: String,
    engine: NodeEngine,
    filters: HashMap<String, Vec<String>>,
    since: i64,
    tx: mpsc::UnboundedSender<(String, Feed)>,
    cancel: CancellationToken,
) {
    let mut last = since;
    let mut backoff = Duration::from_millis(100);
    let mut lost = false;
    loop {
        if std::mem::take(&mut lost) {
            let until = daemon_now_nanos(&engine).await;
            let replayed = if until > 0 {
                follow(
                    &node,
                    &engine,
                    &filters,
                    &mut last,
                    Some(until),
                    &tx,
                    &cancel,
                )
                .await
            } else {
                StreamEnd::Lost("the engine does not answer GET /info".to_string())
            };
            match replayed {
                StreamEnd::Cancelled => return,
                StreamEnd::Done => {
                    backoff = Duration::from_millis(100);
                    last = last.max(until);
                    if tx.send((node.clone(), Feed::Back)).is_err() {
                        return;
                    }
                }
                StreamEnd::Lost(why) => {
                    tracing::debug!(endpoint = %engine.endpoint, "replay failed: {why}");
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    lost = true;
                    continue;
                }
            }
        }
        let why = match follow(&node, &engine, &filters, &mut last, None, &tx, &cancel).await {
            StreamEnd::Cancelled => return,
            StreamEnd::Done => "the engine closed the stream".to_string(),
            StreamEnd::Lost(why) => why,
        };
        lost = true;
        tracing::warn!(endpoint = %engine.endpoint, "swarm node event stream lost: {why}; reconnecting");
        if tx.send((node.clone(), Feed::Lost(why))).is_err() {
            return;
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One pass over an engine's task-container events since `last` (until `until` when given),
/// each sent on to the watcher loop; `last` follows the events sent.
async fn follow(
    node: &str,
    engine: &NodeEngine,
    filters: &HashMap<String, Vec<String>>,
    last: &mut i64,
    until: Option<i64>,
    tx: &mpsc::UnboundedSender<(String, Feed)>,
    cancel: &CancellationToken,
) -> StreamEnd {
    let options = EventsOptions {
        since: (*last > 0).then(|| nanos_to_docker(*last)),
        until: until.map(nanos_to_docker),
        filters: Some(filters.clone()),
    };
    let mut stream = engine.docker.events(Some(options));
    loop {
        let next = tokio::select! {
            _ = cancel.cancelled() => return StreamEnd::Cancelled,
            next = stream.next() => next,
        };
        match next {
            Some(Ok(msg)) => {
                if let Some(n) = msg.time_nano {
                    *last = (*last).max(n);
                }
                if tx.send((node.to_string(), Feed::Event(msg))).is_err() {
                    return StreamEnd::Cancelled;
                }
            }
            Some(Err(e)) => return StreamEnd::Lost(e.to_string()),
            None if until.is_some() => return StreamEnd::Done,
            None => return StreamEnd::Lost("the engine closed the stream".to_string()),
        }
    }
}

/// The engine's clock now, in nanoseconds, from `GET /info` (0 when it does not say).
pub async fn daemon_now_nanos(engine: &NodeEngine) -> i64 {
    let Ok(info) = engine.docker.info().await else {
        return 0;
    };
    info.system_time
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .and_then(|t| t.timestamp_nanos_opt())
        .unwrap_or(0)
}

/// Docker's `since` form: `seconds.nanoseconds`.
fn nanos_to_docker(nanos: i64) -> String {
    format!(
        "{}.{:09}",
        nanos.div_euclid(1_000_000_000),
        nanos.rem_euclid(1_000_000_000)
    )
}
