//! A lab node's own view of the run: its container events, read on its unix socket.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::Lab;
use crate::common::docker::DaemonEvent;

impl Lab {
    /// Starts recording the container events of this run's containers on every node, from
    /// now on (see [`LabEvents`]).
    pub fn record_events(&self) -> LabEvents {
        LabEvents::start(self)
    }
}

/// One `docker events` subscription per node on the node's unix socket, recording the
/// container events of the run's containers (`firedrill.test=<id>`) with the node's own
/// times, independently of firedrill. A subscription starts with `--since` its own start, so
/// nothing between starting and subscribing is missed. Each child is killed by its PID on drop.
pub struct LabEvents {
    children: Vec<Child>,
    events: Arc<Mutex<Vec<(u32, DaemonEvent)>>>,
}

impl LabEvents {
    fn start(lab: &Lab) -> LabEvents {
        let since = unix_seconds(SystemTime::now());
        let events = Arc::new(Mutex::new(Vec::new()));
        let mut children = Vec::new();
        for node in lab.nodes() {
            let mut child = Command::new("docker")
                .arg("-H")
                .arg(format!("unix://{}", node.socket.display()))
                .args(["events", "--since", &since, "--format", "{{json .}}"])
                .args(["--filter", "type=container", "--filter"])
                .arg(format!("label={}", lab.label()))
                .env_remove("DOCKER_HOST")
                .env_remove("DOCKER_TLS_VERIFY")
                .env_remove("DOCKER_CERT_PATH")
                .env_remove("DOCKER_CONTEXT")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn docker events");
            let stdout = child.stdout.take().expect("events stdout");
            let sink = events.clone();
            let index = node.index;
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if let Ok(v) = serde_json::from_str::<Value>(&line) {
                        sink.lock()
                            .unwrap()
                            .push((index, DaemonEvent::from_json(&v)));
                    }
                }
            });
            children.push(child);
        }
        LabEvents { children, events }
    }

    /// The events recorded so far on node `index`.
    pub fn of_node(&self, index: u32) -> Vec<DaemonEvent> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|(i, _)| *i == index)
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// Node `index`'s time (µs, its `timeNano` / 1000) of the first `action` event of
    /// container `id` at or after `after` (µs), waiting up to 10 s for it to arrive.
    pub fn time_of(&self, index: u32, id: &str, action: &str, after: i64) -> i64 {
        let find = || {
            self.of_node(index)
                .iter()
                .filter(|e| e.id == id && e.action == action)
                .map(|e| e.time_nano / 1_000)
                .find(|&t| t >= after)
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(t) = find() {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "node {index} reported no {action} of {id} at or after {after} µs; its events: {:?}",
                self.of_node(index)
                    .iter()
                    .map(|e| (e.id.get(..12).unwrap_or(&e.id).to_string(), e.action.clone()))
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for LabEvents {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `seconds.nanoseconds` since the epoch, as `docker events --since/--until` take it.
fn unix_seconds(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:09}", d.as_secs(), d.subsec_nanos())
}
