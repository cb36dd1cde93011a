//! What one notification says: a JSON object with a Slack-compatible `text` line for people and
//! typed fields for tools (`event`, `scenario`, `seed`, `run`, `at`, `version`), plus one
//! object named after the event with its details. docs/notifications.md documents the shape;
//! a change to it raises [`BODY_VERSION`].

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::journal::Entry;
use crate::report::{ReportStatus, RunReport, Verdict};
use crate::scenario::NotifyEvent;
use crate::vocabulary::phase::Phase;
use crate::vocabulary::time::to_utc;

/// The version of the body's shape, sent as `version`.
pub const BODY_VERSION: u32 = 1;

/// One notification, as POSTed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// One readable line; Slack and compatible tools show it as the message.
    pub text: String,
    /// Which event this is.
    pub event: NotifyEvent,
    /// The scenario's name.
    pub scenario: String,
    /// The run's seed.
    pub seed: u64,
    /// The run folder's name, such as `20261202T071200Z-web-nightly`.
    pub run: String,
    /// When it happened (for `end`: when the report was written), RFC 3339 in UTC.
    pub at: DateTime<Utc>,
    /// [`BODY_VERSION`].
    pub version: u32,
    /// The event's own fields, under the event's name (`"kill": {...}`).
    #[serde(flatten)]
    pub detail: Detail,
}

/// The fields of one event, serialised as an object keyed by the event's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detail {
    /// The run started.
    Start(StartDetail),
    /// An instance was killed.
    Kill(KillDetail),
    /// A kill missed `recovery.timeout`.
    Unrecovered(UnrecoveredDetail),
    /// A stop condition fired.
    Abort(AbortDetail),
    /// The report is written.
    End(EndDetail),
}

/// `start`: where the run happens and what it must keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartDetail {
    /// Platform kind: `local`, `docker` or `swarm`.
    pub platform: String,
    /// Desired healthy capacity of each target.
    pub desired: BTreeMap<String, u32>,
}

/// `kill`: which instance was taken, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KillDetail {
    /// Kill number, from 1.
    pub kill_id: u32,
    /// The target it belonged to.
    pub target: String,
    /// The instance id (a PID, a container id, a task id).
    pub victim: String,
    /// The instance's name.
    pub name: String,
    /// The action, described (`kill SIGKILL`, `crash`, ...).
    pub action: String,
}

/// `unrecovered`: a kill whose recovery ran out of time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnrecoveredDetail {
    /// Which kill.
    pub kill_id: u32,
    /// The first mark it never reached.
    pub stalled_in: Phase,
}

/// `abort`: the stop condition that ended the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbortDetail {
    /// The condition as written.
    pub condition: String,
    /// What it measured, for people.
    pub measured: String,
}

/// `end`: the verdict, from the written report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndDetail {
    /// How the run ended.
    pub status: ReportStatus,
    /// `pass`, `fail` or `aborted`.
    pub verdict: Verdict,
    /// Kills carried out.
    pub kills: u32,
    /// Kills that never recovered.
    pub unrecovered: u32,
    /// The run folder, holding the reports.
    pub report_dir: String,
}

impl EndDetail {
    /// The end of a run whose report is `report`, written into `dir`.
    pub fn of(report: &RunReport, dir: &Path) -> EndDetail {
        EndDetail {
            status: report.status,
            verdict: report.verdict,
            kills: u32::try_from(report.kills.len()).unwrap_or(u32::MAX),
            unrecovered: u32::try_from(report.unrecovered().count()).unwrap_or(u32::MAX),
            report_dir: dir.display().to_string(),
        }
    }
}

/// What every notification of one run shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunContext {
    /// The scenario's name.
    pub scenario: String,
    /// The run's seed.
    pub seed: u64,
    /// The run folder's name.
    pub run: String,
}

impl RunContext {
    /// The notification a journal line makes, if it makes one.
    pub fn from_entry(&self, entry: &Entry) -> Option<Notification> {
        let (at, detail) = match entry {
            Entry::RunStarted(s) => (
                s.at,
                Detail::Start(StartDetail {
                    platform: s.platform.clone(),
                    desired: s.desired.clone(),
                }),
            ),
            Entry::Kill(k) => (
                k.at,
                Detail::Kill(KillDetail {
                    kill_id: k.kill_id,
                    target: k.target.clone(),
                    victim: k.victim.clone(),
                    name: k.name.clone(),
                    action: k.action.clone(),
                }),
            ),
            Entry::Unrecovered {
                kill_id,
                at,
                stalled_in,
            } => (
                *at,
                Detail::Unrecovered(UnrecoveredDetail {
                    kill_id: *kill_id,
                    stalled_in: *stalled_in,
                }),
            ),
            Entry::AbortTriggered {
                at,
                condition,
                measured,
            } => (
                *at,
                Detail::Abort(AbortDetail {
                    condition: condition.clone(),
                    measured: measured.clone(),
                }),
            ),
            _ => return None,
        };
        // A time outside chrono's range cannot come from a real clock; now is the best guess.
        Some(self.notification(to_utc(at).unwrap_or_else(Utc::now), detail))
    }

    /// The `end` notification, sent once the report is written.
    pub fn end(&self, at: DateTime<Utc>, end: EndDetail) -> Notification {
        self.notification(at, Detail::End(end))
    }

    fn notification(&self, at: DateTime<Utc>, detail: Detail) -> Notification {
        Notification {
            text: format!("firedrill {}: {}", self.scenario, self.describe(&detail)),
            event: detail.event(),
            scenario: self.scenario.clone(),
            seed: self.seed,
            run: self.run.clone(),
            at,
            version: BODY_VERSION,
            detail,
        }
    }

    /// The `text` line after `firedrill NAME: `.
    fn describe(&self, detail: &Detail) -> String {
        match detail {
            Detail::Start(s) => {
                let desired: Vec<String> =
                    s.desired.iter().map(|(t, n)| format!("{t} {n}")).collect();
                format!(
                    "run {} started on {}, seed {} (desired: {})",
                    self.run,
                    s.platform,
                    self.seed,
                    desired.join(", ")
                )
            }
            Detail::Kill(k) => format!("kill #{} took {} (target {})", k.kill_id, k.name, k.target),
            Detail::Unrecovered(u) => format!(
                "kill #{} did not recover in time (stalled before {})",
                u.kill_id, u.stalled_in
            ),
            Detail::Abort(a) => format!("aborted: {} held (measured {})", a.condition, a.measured),
            Detail::End(e) => {
                let verdict = match e.verdict {
                    Verdict::Pass => "PASS",
                    Verdict::Fail => "FAIL",
                    Verdict::Aborted => "ABORTED",
                };
                format!(
                    "{verdict}, {}; {} kill{}, {} unrecovered; report in {}",
                    e.status.describe(),
                    e.kills,
                    if e.kills == 1 { "" } else { "s" },
                    e.unrecovered,
                    e.report_dir
                )
            }
        }
    }
}

impl Detail {
    /// Which event these fields belong to.
    pub fn event(&self) -> NotifyEvent {
        match self {
            Detail::Start(_) => NotifyEvent::Start,
            Detail::Kill(_) => NotifyEvent::Kill,
            Detail::Unrecovered(_) => NotifyEvent::Unrecovered,
            Detail::Abort(_) => NotifyEvent::Abort,
            Detail::End(_) => NotifyEvent::End,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::journal::KillEntry;
    use crate::vocabulary::time::Micros;

    fn context() -> RunContext {
        RunContext {
            scenario: "shop-nightly".into(),
            seed: 42,
            run: "20261202T071200Z-shop-nightly".into(),
        }
    }

    const AT: Micros = 1_796_195_520_250_000; // 2026-12-02T07:12:00.25Z

    fn utc(at: Micros) -> DateTime<Utc> {
        to_utc(at).unwrap()
    }

    #[test]
    fn a_kill_has_the_documented_body() {
        let entry = Entry::Kill(KillEntry {
            kill_id: 3,
            seq: 4,
            at: AT,
            target: "web".into(),
            victim: "4242".into(),
            slot: "2".into(),
            name: "web-2".into(),
            action: "kill SIGKILL".into(),
            detail: "signalled".into(),
        });
        let body = serde_json::to_value(context().from_entry(&entry).unwrap()).unwrap();
        assert_eq!(
            body,
            json!({
                "text": "firedrill shop-nightly: kill #3 took web-2 (target web)",
                "event": "kill",
                "scenario": "shop-nightly",
                "seed": 42,
                "run": "20261202T071200Z-shop-nightly",
                "at": "2026-12-02T07:12:00.250Z",
                "version": 1,
                "kill": {
                    "kill_id": 3,
                    "target": "web",
                    "victim": "4242",
                    "name": "web-2",
                    "action": "kill SIGKILL"
                }
            })
        );
    }

    #[test]
    fn unrecovered_and_abort_carry_their_fields() {
        let unrecovered = Entry::Unrecovered {
            kill_id: 2,
            at: AT,
            stalled_in: Phase::Healthy,
        };
        let body = serde_json::to_value(context().from_entry(&unrecovered).unwrap()).unwrap();
        assert_eq!(body["event"], "unrecovered");
        assert_eq!(
            body["unrecovered"],
            json!({"kill_id": 2, "stalled_in": "healthy"})
        );
        assert_eq!(
            body["text"],
            "firedrill shop-nightly: kill #2 did not recover in time (stalled before healthy)"
        );
        let abort = Entry::AbortTriggered {
            at: AT,
            condition: "unrecovered > 0".into(),
            measured: "1".into(),
        };
        let body = serde_json::to_value(context().from_entry(&abort).unwrap()).unwrap();
        assert_eq!(body["event"], "abort");
        assert_eq!(
            body["abort"],
            json!({"condition": "unrecovered > 0", "measured": "1"})
        );
    }

    #[test]
    fn the_end_carries_the_verdict_and_round_trips() {
        let end = context().end(
            utc(AT),
            EndDetail {
                status: ReportStatus::Aborted,
                verdict: Verdict::Aborted,
                kills: 1,
                unrecovered: 1,
                report_dir: "reports/20261202T071200Z-shop-nightly".into(),
            },
        );
        let text = serde_json::to_string(&end).unwrap();
        let body: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            body["end"],
            json!({
                "status": "aborted",
                "verdict": "aborted",
                "kills": 1,
                "unrecovered": 1,
                "report_dir": "reports/20261202T071200Z-shop-nightly"
            })
        );
        assert!(body["text"]
            .as_str()
            .unwrap()
            .starts_with("firedrill shop-nightly: ABORTED, aborted by a stop condition; 1 kill,"));
        let back: Notification = serde_json::from_str(&text).unwrap();
        assert_eq!(back, end);
    }

    #[test]
    fn lines_that_concern_no_one_make_no_notification() {
        let entry = Entry::Flap {
            kill_id: 1,
            at: AT,
            instance: "x".into(),
        };
        assert!(context().from_entry(&entry).is_none());
    }
}
