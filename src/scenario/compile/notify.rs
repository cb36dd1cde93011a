//! Checks of `notify:`. A URL named by `url_env` is read here, when the scenario compiles, so a
//! missing secret stops `validate` and `run` (exit 2) before anything is killed. No message
//! ever repeats that URL: it is a secret, and errors end up in CI logs.

use std::collections::BTreeSet;

use super::{is_zero, Checked};
use crate::check::http::parse_url;
use crate::scenario::notify::{
    Notify, NotifyEvent, NotifyFile, Webhook, WebhookFile, WebhookUrl, DEFAULT_WEBHOOK_RETRIES,
    DEFAULT_WEBHOOK_TIMEOUT, MAX_WEBHOOK_RETRIES,
};
use crate::vocabulary::units::HumanDuration;

/// Checks every webhook; `env` looks up an environment variable (a parameter so tests need not
/// change the process environment). Returns the webhooks that compiled.
pub(super) fn check_notify(
    c: &mut Checked,
    notify: &NotifyFile,
    env: &dyn Fn(&str) -> Option<String>,
) -> Notify {
    let webhooks = notify
        .webhooks
        .iter()
        .enumerate()
        .filter_map(|(i, webhook)| check_webhook(c, i, webhook, env))
        .collect();
    Notify { webhooks }
}

fn check_webhook(
    c: &mut Checked,
    i: usize,
    webhook: &WebhookFile,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<Webhook> {
    let at = format!("notify.webhooks[{i}]");
    let url = match (&webhook.url, &webhook.url_env) {
        (Some(_), Some(_)) => {
            c.error(
                format!("{at}.url_env"),
                "give either url or url_env, not both; url_env names a variable holding the URL",
            );
            None
        }
        (None, None) => {
            c.error(
                at.clone(),
                "say where to send: add url: https://... or url_env: NAME, an environment \
                 variable holding the URL (for URLs that are secrets)",
            );
            None
        }
        (Some(url), None) => parse_url(url)
            .map_err(|e| c.error(format!("{at}.url"), e))
            .ok()
            .map(|uri| (uri, at.clone())),
        (None, Some(name)) => url_from_env(c, &at, name, env),
    };
    let on: BTreeSet<NotifyEvent> = match &webhook.on {
        None => NotifyEvent::ALL.into_iter().collect(),
        Some(events) => {
            let set: BTreeSet<NotifyEvent> = events.iter().copied().collect();
            if events.is_empty() {
                c.error(
                    format!("{at}.on"),
                    "on is empty, so this webhook would never be called; list events such as \
                     [start, kill, unrecovered, abort, end], or leave on out for all of them",
                );
            } else if set.len() < events.len() {
                c.warn(
                    format!("{at}.on"),
                    "an event is listed twice; each event is sent once",
                );
            }
            set
        }
    };
    let timeout = webhook
        .timeout
        .unwrap_or(HumanDuration(DEFAULT_WEBHOOK_TIMEOUT));
    if is_zero(timeout) {
        c.error(
            format!("{at}.timeout"),
            "a timeout of 0 would fail every attempt; use a limit such as 5s",
        );
    }
    let retries = webhook.retries.unwrap_or(DEFAULT_WEBHOOK_RETRIES);
    if retries > MAX_WEBHOOK_RETRIES {
        c.error(
            format!("{at}.retries"),
            format!(
                "retries {retries} is more than {MAX_WEBHOOK_RETRIES}; firedrill waits for \
                 undelivered notifications at exit, so keep it small, such as 2"
            ),
        );
    }
    let (uri, source) = url?;
    Some(Webhook {
        source,
        url: WebhookUrl::new(uri),
        on,
        timeout: timeout.get(),
        retries,
    })
}

/// Reads the URL from the variable `name`; the value is never echoed, however it is wrong.
fn url_from_env(
    c: &mut Checked,
    at: &str,
    name: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<(hyper::Uri, String)> {
    let field = format!("{at}.url_env");
    let valid_name = name
        .chars()
        .next()
        .is_some_and(|ch| ch.is_ascii_alphabetic() || ch == '_')
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
    if !valid_name {
        c.error(
            field,
            format!(
                "{name:?} is not an environment variable name; use letters, digits and '_', \
                 such as SLACK_WEBHOOK_URL"
            ),
        );
        return None;
    }
    let Some(value) = env(name).filter(|v| !v.trim().is_empty()) else {
        c.error(
            field,
            format!(
                "the environment variable {name} is not set or is empty; set it to the \
                 webhook's URL before running, or remove this webhook"
            ),
        );
        return None;
    };
    match parse_url(value.trim()) {
        Ok(uri) => Some((uri, format!("{at} (env {name})"))),
        Err(_) => {
            c.error(
                field,
                format!(
                    "the value of {name} is not an http:// or https:// URL with a host (the \
                     value is not shown, as it may be a secret)"
                ),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn webhook(yaml: &str) -> WebhookFile {
        crate::scenario::yaml::parse(yaml).unwrap()
    }

    fn check(hooks: Vec<WebhookFile>, env: &[(&str, &str)]) -> (Checked, Notify) {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let mut c = Checked::default();
        let notify = check_notify(&mut c, &NotifyFile { webhooks: hooks }, &lookup);
        (c, notify)
    }

    fn fields(c: &Checked) -> Vec<&str> {
        c.errors.iter().map(|f| f.field.as_str()).collect()
    }

    #[test]
    fn a_literal_url_gets_every_event_and_the_defaults() {
        let (c, notify) = check(vec![webhook("url: http://127.0.0.1:9000/hook")], &[]);
        assert!(c.errors.is_empty() && c.warnings.is_empty(), "{c:?}");
        let hook = &notify.webhooks[0];
        assert_eq!(hook.source, "notify.webhooks[0]");
        assert_eq!(hook.on.len(), 5);
        assert_eq!(hook.timeout, DEFAULT_WEBHOOK_TIMEOUT);
        assert_eq!(hook.retries, DEFAULT_WEBHOOK_RETRIES);
        assert_eq!(hook.url.uri().port_u16(), Some(9000));
    }

    #[test]
    fn a_url_from_the_environment_is_named_by_its_variable_and_never_shown() {
        let secret = "https://hooks.example.com/services/T000/B000/secret-token";
        let hooks = vec![webhook(
            "{ url_env: SLACK_URL, on: [kill, end], timeout: 250ms, retries: 0 }",
        )];
        let (c, notify) = check(hooks, &[("SLACK_URL", secret)]);
        assert!(c.errors.is_empty(), "{c:?}");
        let hook = &notify.webhooks[0];
        assert_eq!(hook.source, "notify.webhooks[0] (env SLACK_URL)");
        assert!(hook.url.is_https());
        assert_eq!(hook.timeout, Duration::from_millis(250));
        assert_eq!(hook.retries, 0);
        assert_eq!(
            hook.on.iter().copied().collect::<Vec<_>>(),
            [NotifyEvent::Kill, NotifyEvent::End]
        );
        assert!(!format!("{notify:?}").contains("secret-token"));
    }

    #[test]
    fn an_unset_empty_or_wrong_variable_is_an_error_that_does_not_echo_the_value() {
        let hooks = vec![
            webhook("url_env: NOT_SET"),
            webhook("url_env: EMPTY"),
            webhook("url_env: NOT_A_URL"),
            webhook("url_env: 1BAD-NAME"),
        ];
        let env = [("EMPTY", " "), ("NOT_A_URL", "ftp://secret-host/x")];
        let (c, notify) = check(hooks, &env);
        assert!(notify.webhooks.is_empty());
        assert_eq!(
            fields(&c),
            [
                "notify.webhooks[0].url_env",
                "notify.webhooks[1].url_env",
                "notify.webhooks[2].url_env",
                "notify.webhooks[3].url_env"
            ]
        );
        assert!(c.errors[0].message.contains("NOT_SET is not set"), "{c:?}");
        assert!(c.errors[1].message.contains("EMPTY is not set or is empty"));
        assert!(c.errors[2].message.contains("NOT_A_URL is not an http"));
        assert!(!format!("{c:?}").contains("secret-host"));
    }

    #[test]
    fn exactly_one_url_and_sane_limits_are_required() {
        let hooks = vec![
            webhook("{ url: http://a/, url_env: HOOK }"),
            webhook("{ on: [start] }"),
            webhook("{ url: ftp://a/, on: [], timeout: 0s, retries: 11 }"),
            webhook("{ url: http://a/, on: [kill, kill] }"),
        ];
        let (c, notify) = check(hooks, &[("HOOK", "http://b/")]);
        assert_eq!(
            fields(&c),
            [
                "notify.webhooks[0].url_env",
                "notify.webhooks[1]",
                "notify.webhooks[2].url",
                "notify.webhooks[2].on",
                "notify.webhooks[2].timeout",
                "notify.webhooks[2].retries"
            ]
        );
        let warned: Vec<&str> = c.warnings.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(warned, ["notify.webhooks[3].on"]);
        assert_eq!(notify.webhooks.len(), 1);
    }

    #[test]
    fn unknown_fields_and_events_are_refused_by_the_file_shape() {
        let unknown = crate::scenario::yaml::parse::<WebhookFile>("{ url: http://a/, headers: x }");
        assert!(unknown.is_err());
        let event = crate::scenario::yaml::parse::<WebhookFile>("{ url: http://a/, on: [finish] }");
        assert!(event.unwrap_err().message.contains("finish"));
    }
}
