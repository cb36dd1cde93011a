//! Notifications for people: the scenario's `notify.webhooks` get a JSON POST at the start of a
//! run, at each kill, at each unrecovered kill, when a stop condition fires, and at the end
//! with the verdict.
//!
//! [`start`] gives two halves. The [`Notifier`] is a journal [`Observer`]: it turns lines into
//! notifications and only pushes them onto one unbounded queue per webhook, so the run loop,
//! its scheduler and its recovery clock never wait for a webhook. A task per webhook sends its
//! queue in order ([`deliver`]). [`Notifications::finish`] sends `end` once the report is
//! written and waits for the queues to drain, for a bounded time ([`DRAIN_CAP`] at most).

pub mod body;
pub mod deliver;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tokio::task::JoinHandle;

use self::body::{EndDetail, Notification, RunContext};
use self::deliver::{message_budget, record_warning, Delivery, Message};
use crate::check::http::Uploader;
use crate::journal::{Entry, JournalAppender, Observer};
use crate::scenario::{NotifyEvent, Webhook};
use crate::vocabulary::units::HumanDuration;

/// The longest firedrill waits at exit for notifications still queued, however many there are
/// and however slow their webhooks: a dead receiver delays the exit by at most this.
pub const DRAIN_CAP: Duration = Duration::from_secs(30);

/// A webhook could not be prepared.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {reason}")]
pub struct NotifyError {
    /// The webhook, as `notify.webhooks[N]`.
    pub source_name: String,
    /// Why.
    pub reason: String,
}

/// One webhook's queue, as its senders see it.
#[derive(Debug, Clone)]
struct Queue {
    on: std::collections::BTreeSet<NotifyEvent>,
    sender: UnboundedSender<Message>,
    pending: Arc<AtomicUsize>,
}

impl Queue {
    /// Queues `notification` if this webhook wants its event; never blocks.
    fn push(&self, notification: &Arc<Notification>) {
        if !self.on.contains(&notification.event) {
            return;
        }
        self.pending.fetch_add(1, Ordering::SeqCst);
        if self
            .sender
            .send(Message::Send(Arc::clone(notification)))
            .is_err()
        {
            // The task is gone (finished or aborted); nothing will send this one.
            self.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// The journal observer half: makes notifications from journal lines and queues them.
#[derive(Debug)]
pub struct Notifier {
    context: RunContext,
    queues: Vec<Queue>,
}

impl Observer for Notifier {
    fn observe(&mut self, entry: &Entry) {
        if self.queues.is_empty() {
            return;
        }
        if let Some(notification) = self.context.from_entry(entry) {
            let notification = Arc::new(notification);
            for queue in &self.queues {
                queue.push(&notification);
            }
        }
    }
}

/// The command's half: sends `end` and waits for the queues at the end of the run.
#[derive(Debug)]
pub struct Notifications {
    context: RunContext,
    appender: JournalAppender,
    webhooks: Vec<Running>,
}

/// One webhook's task and what finishing needs to know of it.
#[derive(Debug)]
struct Running {
    source: String,
    queue: Queue,
    budget: Duration,
    task: JoinHandle<()>,
}

/// Starts one delivery task per webhook (on the current tokio runtime) and returns the
/// observer to attach to the journal and the handle to finish with. Warnings about failed
/// deliveries go to the journal through `appender`.
pub fn start(
    webhooks: &[Webhook],
    context: RunContext,
    appender: JournalAppender,
) -> Result<(Notifier, Notifications), NotifyError> {
    let mut running = Vec::with_capacity(webhooks.len());
    for webhook in webhooks {
        let poster = Uploader::new(webhook.url.is_https()).map_err(|reason| NotifyError {
            source_name: webhook.source.clone(),
            reason,
        })?;
        let (sender, receiver) = unbounded_channel();
        let pending = Arc::new(AtomicUsize::new(0));
        let delivery = Delivery {
            source: webhook.source.clone(),
            webhook: webhook.clone(),
            poster,
            appender: appender.clone(),
            pending: Arc::clone(&pending),
        };
        running.push(Running {
            source: webhook.source.clone(),
            queue: Queue {
                on: webhook.on.clone(),
                sender,
                pending,
            },
            budget: message_budget(webhook.timeout, webhook.retries),
            task: tokio::spawn(delivery.run(receiver)),
        });
    }
    let notifier = Notifier {
        context: context.clone(),
        queues: running.iter().map(|r| r.queue.clone()).collect(),
    };
    let notifications = Notifications {
        context,
        appender,
        webhooks: running,
    };
    Ok((notifier, notifications))
}

impl Notifications {
    /// Sends `end` (the verdict, from the written report: see [`EndDetail::of`]) and waits
    /// until every queue is sent, for at most each webhook's pending messages times its per-message budget
    /// (`timeout × (retries + 1)` plus backoffs), and never more than [`DRAIN_CAP`]; or until
    /// `give_up` resolves (a Ctrl-C at exit). What is still queued then is dropped, with a
    /// warning in the journal.
    pub async fn finish(self, end: EndDetail, give_up: impl std::future::Future<Output = ()>) {
        if self.webhooks.is_empty() {
            return;
        }
        let end = Arc::new(self.context.end(Utc::now(), end));
        for webhook in &self.webhooks {
            webhook.queue.push(&end);
            // The observer's sender may outlive this (inside the journal), so the task is told
            // to stop rather than waiting for every sender to go.
            let _ = webhook.queue.sender.send(Message::Close);
        }
        let wait = self.drain_bound();
        let mut webhooks = self.webhooks;
        let all_sent = futures_util::future::join_all(webhooks.iter_mut().map(|w| &mut w.task));
        tokio::select! {
            _ = tokio::time::timeout(wait, all_sent) => {}
            () = give_up => {}
        }
        for webhook in &webhooks {
            if webhook.task.is_finished() {
                continue;
            }
            webhook.task.abort();
            let left = webhook.queue.pending.load(Ordering::SeqCst);
            let message = format!(
                "{left} notification{} not delivered: firedrill stopped waiting at exit after {}",
                if left == 1 { "" } else { "s" },
                HumanDuration(wait)
            );
            tracing::warn!("{}: {message}", webhook.source);
            record_warning(&self.appender, &webhook.source, message);
        }
    }

    /// How long [`Notifications::finish`] waits now: the slowest webhook's queue, each message
    /// at its full budget, capped at [`DRAIN_CAP`].
    fn drain_bound(&self) -> Duration {
        self.webhooks
            .iter()
            .map(|w| {
                let pending =
                    u32::try_from(w.queue.pending.load(Ordering::SeqCst)).unwrap_or(u32::MAX);
                w.budget.saturating_mul(pending)
            })
            .max()
            .unwrap_or_default()
            .min(DRAIN_CAP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Recorder;
    use crate::report::{ReportStatus, Verdict};
    use crate::scenario::WebhookUrl;

    fn end() -> EndDetail {
        EndDetail {
            status: ReportStatus::Completed,
            verdict: Verdict::Pass,
            kills: 0,
            unrecovered: 0,
            report_dir: "reports/x".into(),
        }
    }

    /// On a paused clock, a receiver that accepts and never answers makes every attempt run to
    /// its timeout at once; the exit must still come at the cap, with a warning.
    #[tokio::test(start_paused = true)]
    async fn a_receiver_that_never_answers_delays_the_exit_by_at_most_the_cap() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _silent = tokio::spawn(async move {
            let mut kept = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                kept.push(stream);
            }
        });
        let tmp = tempfile::tempdir().unwrap();
        let journal = Recorder::create(&tmp.path().join("journal.jsonl")).unwrap();
        let webhook = Webhook {
            source: "notify.webhooks[0]".into(),
            url: WebhookUrl::new(format!("http://{addr}/hook").parse().unwrap()),
            on: NotifyEvent::ALL.into_iter().collect(),
            timeout: Duration::from_secs(5),
            retries: 2,
        };
        let context = RunContext {
            scenario: "s".into(),
            seed: 1,
            run: "r".into(),
        };
        let (mut notifier, notifications) = start(&[webhook], context, journal.appender()).unwrap();
        let abort = Entry::AbortTriggered {
            at: 0,
            condition: "unrecovered > 0".into(),
            measured: "1".into(),
        };
        for _ in 0..10 {
            notifier.observe(&abort);
        }
        let started = tokio::time::Instant::now();
        notifications
            .finish(end(), std::future::pending::<()>())
            .await;
        assert_eq!(started.elapsed(), DRAIN_CAP);
        let text = std::fs::read_to_string(journal.path()).unwrap();
        assert!(
            text.contains(
                "notifications not delivered: firedrill stopped waiting at exit after 30s"
            ),
            "{text}"
        );
    }

    #[tokio::test]
    async fn without_webhooks_finish_returns_at_once() {
        let tmp = tempfile::tempdir().unwrap();
        let journal = Recorder::create(&tmp.path().join("journal.jsonl")).unwrap();
        let context = RunContext {
            scenario: "s".into(),
            seed: 1,
            run: "r".into(),
        };
        let (_, notifications) = start(&[], context, journal.appender()).unwrap();
        notifications
            .finish(end(), std::future::pending::<()>())
            .await;
    }
}
