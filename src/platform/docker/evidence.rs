//! Drift evidence of one container, for the docker platform and for Swarm tasks alike (a
//! task's container is read through its node's engine): the container's inspect (image id,
//! configuration, creation time), its image's inspect (repo digest) and the engine's record of
//! its filesystem changes (`docker diff`). Three calls, the last two at once; the engine keeps
//! all three for a stopped container, none for a removed one.

use std::future::Future;
use std::time::{Duration, Instant};

use bollard::models::{ChangeType, ContainerInspectResponse};
use bollard::query_parameters::InspectContainerOptions;
use bollard::Docker;

use super::fleet::parse_time;
use crate::platform::evidence::{mount_line, ConfigFingerprint, ConfigParts};
use crate::platform::{ChangeKind, Evidence, FsChanges};
use crate::vocabulary::units::HumanDuration;

/// How long one capture may take in all. A capture before a `remove` holds the kill back, and
/// one after a kill must not keep the report waiting on an engine that stopped answering; what
/// is not in by then is recorded as unknown.
pub const CAPTURE_BUDGET: Duration = Duration::from_secs(5);

/// The container parts an inspect fills; all unknown when the inspect fails.
const INSPECT_PARTS: [&str; 4] = ["image_id", "repo_digest", "config", "created_at"];

/// Where a capture reads from.
pub struct Source<'a> {
    /// The engine the container lives on.
    pub docker: &'a Docker,
    /// Where that engine is, for messages.
    pub endpoint: String,
    /// Container id.
    pub container: &'a str,
    /// Labels the engine sets per instance rather than per configuration (a Swarm task's
    /// id), left out of the fingerprint so that a replacement's own name is not drift.
    pub per_instance_label: fn(&str) -> bool,
}

/// Evidence of `source.container`, filed under `instance`, within [`CAPTURE_BUDGET`]. Never
/// fails: each part that cannot be read is listed in `unknown`.
pub async fn capture(source: &Source<'_>, instance: &str) -> Evidence {
    capture_until(
        source,
        instance,
        tokio::time::Instant::now() + CAPTURE_BUDGET,
    )
    .await
}

/// [`capture`] with a deadline of the caller's, for a capture that is part of a larger one.
pub async fn capture_until(
    source: &Source<'_>,
    instance: &str,
    deadline: tokio::time::Instant,
) -> Evidence {
    let began = Instant::now();
    let mut evidence = Evidence::of(instance);
    let inspected = call(
        source,
        deadline,
        "inspecting the container",
        source
            .docker
            .inspect_container(source.container, None::<InspectContainerOptions>),
    )
    .await;
    evidence.engine_calls += 1;
    let container = match inspected {
        Ok(c) => c,
        Err(why) => {
            // Without the inspect there is no image to ask about, and the changes of a
            // container the engine no longer knows cannot be asked for either.
            for part in INSPECT_PARTS.into_iter().chain(["changes"]) {
                evidence.note_unknown(part, &why);
            }
            evidence.capture_us = micros_since(began);
            return evidence;
        }
    };
    read_inspect(&container, source.per_instance_label, &mut evidence);

    let image_id = evidence.image_id.clone();
    let image = async {
        let id = image_id?;
        let what = "inspecting the container's image";
        Some(call(source, deadline, what, source.docker.inspect_image(&id)).await)
    };
    let changes = call(
        source,
        deadline,
        "reading the container's filesystem changes",
        source.docker.container_changes(source.container),
    );
    let (image, changes) = tokio::join!(image, changes);

    if let Some(image) = image {
        evidence.engine_calls += 1;
        match image {
            // An image built here and never pushed or pulled has no digest: not applicable.
            Ok(i) => evidence.repo_digest = i.repo_digests.and_then(|d| d.into_iter().next()),
            Err(why) => evidence.note_unknown("repo_digest", why),
        }
    }
    evidence.engine_calls += 1;
    match changes {
        // The engine answers `null` for a container with no changes.
        Ok(list) => {
            evidence.changes = Some(FsChanges::of(
                list.unwrap_or_default()
                    .into_iter()
                    .map(|c| (change_kind(c.kind), c.path)),
            ))
        }
        Err(why) => evidence.note_unknown("changes", why),
    }
    evidence.capture_us = micros_since(began);
    evidence
}

/// Fills the parts an inspect holds, noting those it lacks.
fn read_inspect(
    c: &ContainerInspectResponse,
    per_instance_label: fn(&str) -> bool,
    evidence: &mut Evidence,
) {
    match c.image.as_deref().filter(|i| !i.is_empty()) {
        Some(image) => evidence.image_id = Some(image.to_string()),
        None => {
            evidence.note_unknown("image_id", "the engine's inspect names no image");
            evidence.note_unknown("repo_digest", "the engine's inspect names no image");
        }
    }
    match parse_time(c.created.as_deref()) {
        Some(at) => evidence.created_at = Some(at),
        None => evidence.note_unknown("created_at", "the engine's inspect has no creation time"),
    }
    let Some(config) = &c.config else {
        evidence.note_unknown("config", "the engine's inspect has no Config");
        return;
    };
    let none = Vec::new();
    let labels = config
        .labels
        .iter()
        .flatten()
        .filter(|(k, _)| !per_instance_label(k))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mounts = c
        .mounts
        .iter()
        .flatten()
        .map(|m| {
            let text = |s: &Option<String>| s.clone().unwrap_or_default();
            mount_line(
                &text(&m.typ),
                &text(&m.source),
                &text(&m.destination),
                &text(&m.mode),
                m.rw.unwrap_or(false),
            )
        })
        .collect();
    evidence.config = Some(ConfigFingerprint::of(&ConfigParts {
        command: config.cmd.as_ref().unwrap_or(&none),
        entrypoint: config.entrypoint.as_ref().unwrap_or(&none),
        env: config.env.as_ref().unwrap_or(&none),
        labels,
        mounts,
        user: config.user.as_deref().unwrap_or_default(),
    }));
}

/// Docker's change kinds: 0 modified, 1 added, 2 deleted.
fn change_kind(kind: ChangeType) -> ChangeKind {
    match kind {
        ChangeType::_0 => ChangeKind::Changed,
        ChangeType::_1 => ChangeKind::Added,
        ChangeType::_2 => ChangeKind::Deleted,
    }
}

/// One engine call, given what is left of the capture's budget; the error names the call
/// and the engine.
async fn call<T>(
    source: &Source<'_>,
    deadline: tokio::time::Instant,
    what: &str,
    call: impl Future<Output = Result<T, bollard::errors::Error>>,
) -> Result<T, String> {
    match tokio::time::timeout_at(deadline, call).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(e)) => Err(format!(
            "{what} on the engine at {} failed: {e}",
            source.endpoint
        )),
        Err(_) => Err(format!(
            "{what} on the engine at {} did not finish within the capture's {}",
            source.endpoint,
            HumanDuration(CAPTURE_BUDGET)
        )),
    }
}

fn micros_since(began: Instant) -> u64 {
    u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// No label names a plain container's instance rather than its configuration.
pub fn no_per_instance_labels(_: &str) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inspect(json: serde_json::Value) -> ContainerInspectResponse {
        serde_json::from_value(json).expect("an inspect")
    }

    #[test]
    fn an_inspect_gives_image_creation_and_a_fingerprint_without_per_instance_labels() {
        let c = |task: &str, env: &str| {
            inspect(serde_json::json!({
                "Id": "c1", "Image": "sha256:abc", "Created": "2026-12-02T05:55:09.206869429Z",
                "Config": {
                    "Cmd": null, "Entrypoint": ["/firedrill", "target"], "User": "",
                    "Env": ["PATH=/bin", env],
                    "Labels": {"app": "web", "com.docker.swarm.task.id": task}
                },
                "Mounts": [{"Type": "bind", "Source": "/srv", "Destination": "/data",
                            "Mode": "", "RW": true}]
            }))
        };
        let read = |c: &ContainerInspectResponse, per_instance: fn(&str) -> bool| {
            let mut e = Evidence::of("c1");
            read_inspect(c, per_instance, &mut e);
            e
        };
        let swarm_task = |k: &str| k == "com.docker.swarm.task.id";
        let a = read(&c("t1", "TOKEN=s3cret"), swarm_task);
        assert!(a.unknown.is_empty(), "{:?}", a.unknown);
        assert_eq!(a.image_id.as_deref(), Some("sha256:abc"));
        assert_eq!(
            a.created_at,
            parse_time(Some("2026-12-02T05:55:09.206869Z"))
        );
        let b = read(&c("t2", "TOKEN=s3cret"), swarm_task);
        assert_eq!(a.config, b.config, "another task of one spec is no drift");
        let plain = read(&c("t2", "TOKEN=s3cret"), no_per_instance_labels);
        let differs = a
            .config
            .as_ref()
            .unwrap()
            .differs(plain.config.as_ref().unwrap());
        assert_eq!(differs, ["labels"]);
        let other_env = read(&c("t1", "TOKEN=other"), swarm_task);
        let differs = a
            .config
            .as_ref()
            .unwrap()
            .differs(other_env.config.as_ref().unwrap());
        assert_eq!(differs, ["env"]);
    }

    #[test]
    fn an_inspect_without_config_or_image_says_which_parts_are_unknown() {
        let mut e = Evidence::of("c1");
        read_inspect(
            &inspect(serde_json::json!({"Id": "c1"})),
            no_per_instance_labels,
            &mut e,
        );
        assert!(e.config.is_none() && e.image_id.is_none() && e.created_at.is_none());
        let parts: Vec<&str> = e
            .unknown
            .iter()
            .filter_map(|u| u.split(':').next())
            .collect();
        assert_eq!(parts, ["image_id", "repo_digest", "created_at", "config"]);
    }
}
