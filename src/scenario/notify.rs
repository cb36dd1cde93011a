//! `notify:`, webhooks for people: the file's shape ([`NotifyFile`]) and what it compiles to
//! ([`Notify`]). A webhook's URL may come from an environment variable, because a Slack or
//! Teams URL is a secret; such a URL is kept behind [`WebhookUrl`], whose `Debug` never shows
//! it, and no message firedrill writes ever names it.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::vocabulary::units::HumanDuration;

/// Time one delivery attempt may take when the file does not say.
pub const DEFAULT_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);
/// Extra attempts after a failed first one when the file does not say.
pub const DEFAULT_WEBHOOK_RETRIES: u32 = 2;
/// The most extra attempts a webhook may ask for: each one can delay the exit (see
/// `notify::DRAIN_CAP`), so a typo such as `retries: 100` is refused.
pub const MAX_WEBHOOK_RETRIES: u32 = 10;

/// What a run tells people about, as written in `on:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyEvent {
    /// The run started (its first journal line).
    Start,
    /// An instance was killed.
    Kill,
    /// A kill missed `recovery.timeout`.
    Unrecovered,
    /// A stop condition (`abort_when`) fired.
    Abort,
    /// The report is written; carries the verdict.
    End,
}

impl NotifyEvent {
    /// Every event, the default of `on:`.
    pub const ALL: [NotifyEvent; 5] = [
        NotifyEvent::Start,
        NotifyEvent::Kill,
        NotifyEvent::Unrecovered,
        NotifyEvent::Abort,
        NotifyEvent::End,
    ];

    /// The name as written in the file and in a notification's `event` field.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyEvent::Start => "start",
            NotifyEvent::Kill => "kill",
            NotifyEvent::Unrecovered => "unrecovered",
            NotifyEvent::Abort => "abort",
            NotifyEvent::End => "end",
        }
    }
}

impl fmt::Display for NotifyEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `notify:` as written.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyFile {
    /// JSON POSTs to chat or incident tools as the run goes.
    #[serde(default)]
    pub webhooks: Vec<WebhookFile>,
}

/// One webhook as written. Exactly one of `url` and `url_env` is given.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookFile {
    /// The URL itself, `http://` or `https://`.
    #[serde(default)]
    pub url: Option<String>,
    /// The name of an environment variable holding the URL, for URLs that are secrets.
    #[serde(default)]
    pub url_env: Option<String>,
    /// Which events to send; default all five.
    #[serde(default)]
    pub on: Option<Vec<NotifyEvent>>,
    /// Time one attempt may take; default 5s.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    /// Extra attempts after a failed one; default 2.
    #[serde(default)]
    pub retries: Option<u32>,
}

/// The compiled `notify:` block.
#[derive(Debug, Clone, Default)]
pub struct Notify {
    /// The webhooks, in file order.
    pub webhooks: Vec<Webhook>,
}

/// One webhook, checked.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// How messages name it: `notify.webhooks[N]`, plus `(env NAME)` when the URL came from a
    /// variable. Never the URL.
    pub source: String,
    /// Where to POST.
    pub url: WebhookUrl,
    /// Which events it gets.
    pub on: BTreeSet<NotifyEvent>,
    /// Time one attempt may take.
    pub timeout: Duration,
    /// Extra attempts after a failed one.
    pub retries: u32,
}

/// A webhook's URL, which may be a secret: `Debug` shows only where it came from.
#[derive(Clone)]
pub struct WebhookUrl {
    uri: hyper::Uri,
}

impl WebhookUrl {
    /// Wraps a checked http or https URL.
    pub fn new(uri: hyper::Uri) -> WebhookUrl {
        WebhookUrl { uri }
    }

    /// The URL, for the one place that sends to it.
    pub fn uri(&self) -> &hyper::Uri {
        &self.uri
    }

    /// Whether it needs TLS.
    pub fn is_https(&self) -> bool {
        self.uri.scheme_str() == Some("https")
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Debug output ends up in logs and panics; a webhook URL is often a bearer secret.
        f.write_str("WebhookUrl(<hidden>)")
    }
}
