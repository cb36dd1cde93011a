//! Delivery to one webhook: a task that POSTs its queue in order, each message with a bounded
//! time per attempt and a short backoff between attempts. A message that still fails becomes a
//! tracing warning and a `warning` line in the journal, naming the webhook by its place in the
//! file (never its URL) and the kind of failure. Nothing here can change the run or its verdict.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Bytes;
use tokio::sync::mpsc::UnboundedReceiver;
use tracing::warn;

use super::body::Notification;
use crate::check::http::Uploader;
use crate::journal::{Entry, JournalAppender};
use crate::scenario::Webhook;
use crate::vocabulary::time::now_micros;
use crate::vocabulary::units::HumanDuration;

/// Wait before the first retry; it doubles for each further one, up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// What a webhook's queue holds.
#[derive(Debug)]
pub(super) enum Message {
    /// A notification to send.
    Send(Arc<Notification>),
    /// Nothing more will come: the task ends once what is before this is sent.
    Close,
}

/// The wait before attempt `attempt` (1 for the first retry).
pub fn backoff(attempt: u32) -> Duration {
    let doubled = FIRST_BACKOFF.saturating_mul(1 << attempt.saturating_sub(1).min(16));
    doubled.min(MAX_BACKOFF)
}

/// The longest one message can take, every attempt timing out: `timeout × (retries + 1)` plus
/// the backoffs between attempts.
pub fn message_budget(timeout: Duration, retries: u32) -> Duration {
    let attempts = timeout.saturating_mul(retries.saturating_add(1));
    (1..=retries).fold(attempts, |total, n| total.saturating_add(backoff(n)))
}

/// One webhook's sender, run as a task over its queue.
pub(super) struct Delivery {
    pub(super) source: String,
    pub(super) webhook: Webhook,
    pub(super) poster: Uploader,
    pub(super) appender: JournalAppender,
    /// Messages queued and not yet done with, shared with the queue's senders.
    pub(super) pending: Arc<AtomicUsize>,
}

impl Delivery {
    /// Sends each message in turn until [`Message::Close`] or until every sender is gone.
    pub(super) async fn run(self, mut queue: UnboundedReceiver<Message>) {
        while let Some(message) = queue.recv().await {
            match message {
                Message::Close => break,
                Message::Send(notification) => {
                    self.deliver(&notification).await;
                    self.pending.fetch_sub(1, Ordering::SeqCst);
                }
            }
        }
    }

    async fn deliver(&self, notification: &Notification) {
        let body = match serde_json::to_vec(notification) {
            Ok(body) => Bytes::from(body),
            Err(e) => {
                self.warn(notification, &format!("cannot encode it: {e}"));
                return;
            }
        };
        let uri = self.webhook.url.uri();
        let attempts = self.webhook.retries.saturating_add(1);
        let mut last = String::new();
        for attempt in 0..attempts {
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt)).await;
            }
            let sent = tokio::time::timeout(
                self.webhook.timeout,
                self.poster.post_json(uri, body.clone()),
            )
            .await;
            last = match sent {
                Ok(Ok(status)) if (200..300).contains(&status) => return,
                Ok(Ok(status)) => format!("answered HTTP {status}"),
                Ok(Err(kind)) => kind,
                Err(_) => format!("no answer within {}", HumanDuration(self.webhook.timeout)),
            };
        }
        let tries = if attempts == 1 {
            "1 attempt".to_string()
        } else {
            format!("{attempts} attempts")
        };
        self.warn(notification, &format!("after {tries}, the last {last}"));
    }

    /// Logs and journals that `notification` was not delivered, and why.
    fn warn(&self, notification: &Notification, why: &str) {
        let message = format!("{} notification not delivered: {why}", notification.event);
        warn!("{}: {message}", self.source);
        record_warning(&self.appender, &self.source, message);
    }
}

/// Appends a `warning` line; a journal that cannot be written is only logged, as the run's
/// record is already complete without it.
pub(super) fn record_warning(appender: &JournalAppender, source: &str, message: String) {
    let entry = Entry::Warning {
        at: now_micros(),
        source: source.to_string(),
        message,
    };
    if let Err(e) = appender.append(&entry) {
        warn!("{source}: cannot write a warning to the journal: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let waits: Vec<u128> = (1..=6).map(|n| backoff(n).as_millis()).collect();
        assert_eq!(waits, [250, 500, 1000, 2000, 2000, 2000]);
    }

    #[test]
    fn a_message_budget_counts_every_attempt_and_backoff() {
        let budget = message_budget(Duration::from_secs(5), 2);
        assert_eq!(budget, Duration::from_millis(15_000 + 250 + 500));
        assert_eq!(
            message_budget(Duration::from_millis(200), 0),
            Duration::from_millis(200)
        );
    }
}
