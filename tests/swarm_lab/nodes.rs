//! Node kills on the lab: a worker drained, a worker cut off by a `command` action and healed
//! by its `undo`, Ctrl-C in the middle of a drain, and the guards. Every mark is checked
//! against what firedrill does not read itself: the manager's node events and node states on
//! its unix socket, the manager's task records, and each node's own container events.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::common::lab::{Lab, LabNode};

/// One change of a node as the manager's own event stream reports it.
#[derive(Debug, Clone)]
pub struct NodeChange {
    pub node: String,
    pub at: i64,
    pub state: Option<String>,
    pub availability: Option<String>,
}

/// The manager's node events, recorded from now on its unix socket; the child is killed by
/// its PID on drop.
pub struct ManagerNodeEvents {
    child: Child,
    seen: Arc<Mutex<Vec<NodeChange>>>,
}

impl ManagerNodeEvents {
    pub fn start(lab: &Lab) -> ManagerNodeEvents {
        let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let since = format!("{}.{:09}", since.as_secs(), since.subsec_nanos());
        let mut child = Command::new("docker")
            .arg("-H")
            .arg(format!("unix://{}", lab.manager().socket.display()))
            .args(["events", "--since", &since, "--filter", "type=node"])
            .args(["--format", "{{json .}}"])
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_TLS_VERIFY")
            .env_remove("DOCKER_CERT_PATH")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn docker events");
        let stdout = child.stdout.take().expect("stdout");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                let attr = |k: &str| v["Actor"]["Attributes"][k].as_str().map(str::to_string);
                sink.lock().unwrap().push(NodeChange {
                    node: v["Actor"]["ID"].as_str().unwrap_or_default().to_string(),
                    at: v["timeNano"].as_i64().unwrap_or_default() / 1_000,
                    state: attr("state.new"),
                    availability: attr("availability.new"),
                });
            }
        });
        ManagerNodeEvents { child, seen }
    }

    pub fn all(&self) -> Vec<NodeChange> {
        self.seen.lock().unwrap().clone()
    }

    /// The time of the first change of `node` matching `pick`, waiting up to 10 s for it.
    pub fn time_of(&self, node: &str, pick: impl Fn(&NodeChange) -> bool) -> i64 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(c) = self.all().into_iter().find(|c| c.node == node && pick(c)) {
                return c.at;
            }
            assert!(
                Instant::now() < deadline,
                "no such node event of {node}: {:?}",
                self.all()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ManagerNodeEvents {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One sample of the manager's node list: when, node id, state, availability.
type Sample = (i64, String, String, String);

/// Polls the manager's node list every 200 ms, as `docker node ls` shows it: (when, node id,
/// state, availability). Stops on drop.
pub struct NodeStatePoll {
    stop: Arc<Mutex<bool>>,
    seen: Arc<Mutex<Vec<Sample>>>,
}

impl NodeStatePoll {
    pub fn start(manager: &LabNode) -> NodeStatePoll {
        let stop = Arc::new(Mutex::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (stop2, sink, manager) = (stop.clone(), seen.clone(), manager.clone());
        thread::spawn(move || {
            while !*stop2.lock().unwrap() {
                let listed = manager.docker(&[
                    "node",
                    "ls",
                    "--format",
                    "{{.ID}} {{.Status}} {{.Availability}}",
                ]);
                let at = chrono::Utc::now().timestamp_micros();
                for line in listed.unwrap_or_default().lines() {
                    let f: Vec<&str> = line.split_whitespace().collect();
                    if let [id, state, availability] = f[..] {
                        sink.lock().unwrap().push((
                            at,
                            id.to_string(),
                            state.to_lowercase(),
                            availability.to_lowercase(),
                        ));
                    }
                }
                thread::sleep(Duration::from_millis(200));
            }
        });
        NodeStatePoll { stop, seen }
    }

    /// When the poll first saw `node` in `state`, and the last time before that it saw it
    /// otherwise.
    pub fn first_seen(&self, node: &str, state: &str) -> (i64, i64) {
        let seen = self.seen.lock().unwrap();
        let mut before = i64::MIN;
        for (at, _, s, _) in seen.iter().filter(|(_, id, _, _)| id == node) {
            if s == state {
                return (before, *at);
            }
            before = *at;
        }
        panic!("the poll never saw {node} {state}");
    }
}

impl Drop for NodeStatePoll {
    fn drop(&mut self) {
        *self.stop.lock().unwrap() = true;
    }
}

/// Labels a node for one test and takes the label off again on drop, and sets every worker
/// active on drop, whatever the test did.
pub struct NodeLabels<'a> {
    lab: &'a Lab,
    added: Vec<(String, String)>,
}

impl<'a> NodeLabels<'a> {
    pub fn new(lab: &'a Lab) -> NodeLabels<'a> {
        NodeLabels {
            lab,
            added: Vec::new(),
        }
    }

    pub fn add(&mut self, node: &LabNode, label: &str) {
        self.lab
            .manager_docker_ok(&["node", "update", "--label-add", label, &node.node_id]);
        let key = label.split('=').next().unwrap_or(label).to_string();
        self.added.push((node.node_id.clone(), key));
    }
}

impl Drop for NodeLabels<'_> {
    fn drop(&mut self) {
        for (node, key) in &self.added {
            let _ = self
                .lab
                .manager_docker(&["node", "update", "--label-rm", key, node]);
        }
        for node in self.lab.workers() {
            let _ = self.lab.manager_docker(&[
                "node",
                "update",
                "--availability",
                "active",
                &node.node_id,
            ]);
        }
    }
}

/// The run folder under `out` (there is one).
pub fn run_folder(out: &Path) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(out)
        .expect("reports dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.pop().expect("a run folder")
}

/// The journal's lines.
pub fn journal(folder: &Path) -> Vec<Value> {
    std::fs::read_to_string(folder.join("journal.jsonl"))
        .expect("journal")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

/// The node-kill event of `kind` for `node` in the journal.
pub fn node_mark<'j>(journal: &'j [Value], node: &str, kind: &str) -> &'j Value {
    journal
        .iter()
        .find(|l| {
            l["type"] == "event"
                && l["kind"] == kind
                && l["instance"] == node
                && l.get("node_kill").is_some()
        })
        .unwrap_or_else(|| panic!("no node {kind} mark for {node}"))
}

/// Where the watched service's tasks run: task id → node id, of the tasks it wants running.
pub fn placement(lab: &Lab, service: &str) -> BTreeMap<String, String> {
    lab.running_tasks(service)
        .into_iter()
        .map(|t| {
            let task = lab.task(&t);
            let node = task["NodeID"].as_str().unwrap_or_default().to_string();
            (t, node)
        })
        .collect()
}

/// Checks the replaced, running and healthy marks of a node kill against the manager's task
/// records and the replacement nodes' own container events: each is the latest of the
/// replacements' `CreatedAt`, container `start` and `health_status: healthy`. Returns the
/// replacements' node hostnames by slot.
pub fn check_replacements(
    lab: &Lab,
    events: &crate::common::lab::events::LabEvents,
    kill: &Value,
    created: &Value,
    lost_node: &str,
) -> BTreeMap<String, String> {
    let mut latest = (0i64, 0i64, 0i64);
    let mut went = BTreeMap::new();
    let moved = created["node_kill"]["tasks"]
        .as_array()
        .expect("moved tasks");
    for moved in moved {
        let task = lab.task(moved["task"].as_str().expect("task"));
        let node = lab.node_of_task(&task);
        assert_ne!(node.node_id, lost_node, "a replacement on the lost node");
        assert_eq!(moved["node"], node.hostname.as_str());
        let container = Lab::container_of(&task);
        let created_at = crate::common::rfc3339_micros(task["CreatedAt"].as_str().unwrap());
        let start = events.time_of(node.index, &container, "start", 0);
        let healthy = events.time_of(node.index, &container, "health_status: healthy", start);
        latest = (
            latest.0.max(created_at),
            latest.1.max(start),
            latest.2.max(healthy),
        );
        went.insert(
            moved["slot"].as_str().unwrap().to_string(),
            node.hostname.clone(),
        );
    }
    let mark =
        |p: &str| crate::common::rfc3339_micros(kill["phases"][p]["at"].as_str().expect("a mark"));
    assert_eq!(mark("replaced"), latest.0, "replaced = the last CreatedAt");
    assert_eq!(
        mark("running"),
        latest.1,
        "running = the last container start"
    );
    assert_eq!(
        mark("healthy"),
        latest.2,
        "healthy = the last health_status"
    );
    assert_eq!(
        mark("restored"),
        latest.2,
        "restored when the last one is healthy"
    );
    went
}

/// The slots of the tasks the node held, from the down mark.
pub fn lost_slots(down: &Value) -> BTreeSet<String> {
    down["node_kill"]["tasks"]
        .as_array()
        .expect("lost tasks")
        .iter()
        .map(|t| t["slot"].as_str().unwrap().to_string())
        .collect()
}
