//! Which containers a target covers, and which of those firedrill may touch: the selector
//! (labels, name regex, image, Compose project+service), the opt-in `require_label`, the exempt
//! label (which always wins), and never the container firedrill itself runs in.

use std::collections::HashMap;

use regex::Regex;

use crate::platform::PlatformError;
use crate::scenario::{HealthCheck, Target, EXEMPT_LABEL};

/// Compose's label for the project name.
pub const COMPOSE_PROJECT: &str = "com.docker.compose.project";
/// Compose's label for the service name.
pub const COMPOSE_SERVICE: &str = "com.docker.compose.service";
/// Compose's label for the replica number inside a service.
pub const COMPOSE_NUMBER: &str = "com.docker.compose.container-number";

/// What firedrill knows about one container when deciding whether it is in a target.
#[derive(Debug, Clone, Copy)]
pub struct ContainerFacts<'a> {
    /// Full container id.
    pub id: &'a str,
    /// Name without the leading `/`.
    pub name: &'a str,
    /// Image reference the container was created from.
    pub image: &'a str,
    /// Container labels (for events: the actor's attributes, which include the labels).
    pub labels: &'a HashMap<String, String>,
}

/// Why a container may not be touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The target's selector does not cover it.
    NotSelected,
    /// It lacks the target's `require_label`.
    NotOptedIn(String),
    /// It carries `firedrill.exempt=true`.
    Exempt,
    /// It is the container firedrill runs in.
    OwnContainer,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotSelected => write!(f, "the target's selector does not cover it"),
            Refusal::NotOptedIn(label) => write!(f, "it lacks the opt-in label {label}"),
            Refusal::Exempt => write!(f, "it carries {EXEMPT_LABEL}=true"),
            Refusal::OwnContainer => write!(f, "firedrill itself runs in it"),
        }
    }
}

/// One scenario target, compiled for matching containers.
#[derive(Debug, Clone)]
pub struct TargetSpec {
    /// Target name.
    pub name: String,
    labels: Vec<(String, String)>,
    name_re: Option<Regex>,
    image: Option<String>,
    require: Option<(String, Option<String>)>,
    /// What healthy means for this target.
    pub health: HealthCheck,
}

impl TargetSpec {
    /// Compiles a scenario target; a bad name regex is an error naming the target.
    pub fn compile(target: &Target) -> Result<TargetSpec, PlatformError> {
        let sel = &target.select;
        let mut labels: Vec<(String, String)> = sel
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(c) = &sel.compose {
            labels.push((COMPOSE_PROJECT.to_string(), c.project.clone()));
            labels.push((COMPOSE_SERVICE.to_string(), c.service.clone()));
        }
        let name_re = match &sel.name {
            Some(re) => Some(Regex::new(re).map_err(|e| {
                PlatformError::Failed(format!(
                    "target {}: select.name is not a valid regular expression: {e}",
                    target.name
                ))
            })?),
            None => None,
        };
        if labels.is_empty() && name_re.is_none() && sel.image.is_none() {
            // A selector that matches every container on the engine is never what anyone means.
            return Err(PlatformError::Failed(format!(
                "target {}: a docker selector needs labels, name, image or compose",
                target.name
            )));
        }
        let require = target
            .require_label
            .as_ref()
            .map(|o| (o.key.clone(), Some(o.value.clone())));
        Ok(TargetSpec {
            name: target.name.clone(),
            labels,
            name_re,
            image: sel.image.clone(),
            require,
            health: target.health.clone(),
        })
    }

    /// `key=value` label filters every covered container carries, for narrowing listings and
    /// the event subscription on the daemon side.
    pub fn label_filters(&self) -> Vec<String> {
        self.labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }

    /// Whether the selector covers the container (eligible or not).
    pub fn covers(&self, c: &ContainerFacts<'_>) -> bool {
        self.labels
            .iter()
            .all(|(k, v)| c.labels.get(k).is_some_and(|have| have == v))
            && self.name_re.as_ref().map_or(true, |re| re.is_match(c.name))
            && self
                .image
                .as_deref()
                .map_or(true, |want| image_matches(want, c.image))
    }

    /// How close the container comes to the selector, for the error when the selector matches
    /// nothing: which parts it meets and which it misses (`has app=web; lacks tier=front`), or
    /// `None` when it meets no part at all. The number is how many parts it meets, to list
    /// the closest first.
    pub fn near_miss(&self, c: &ContainerFacts<'_>) -> Option<(usize, String)> {
        let (mut has, mut lacks) = (Vec::new(), Vec::new());
        for (k, v) in &self.labels {
            let part = format!("{k}={v}");
            match c.labels.get(k) {
                Some(have) if have == v => has.push(part),
                Some(have) => lacks.push(format!("{part} (it has {k}={have})")),
                None => lacks.push(part),
            }
        }
        if let Some(re) = &self.name_re {
            let part = format!("name ~ {:?}", re.as_str());
            if re.is_match(c.name) {
                has.push(part);
            } else {
                lacks.push(part);
            }
        }
        if let Some(want) = &self.image {
            let part = format!("image {want}");
            if image_matches(want, c.image) {
                has.push(part);
            } else {
                lacks.push(format!("{part} (it runs {})", c.image));
            }
        }
        if has.is_empty() {
            return None;
        }
        let text = match lacks.is_empty() {
            true => format!("has {}", has.join(", ")),
            false => format!("has {}; lacks {}", has.join(", "), lacks.join(", ")),
        };
        Some((has.len(), text))
    }

    /// Whether firedrill may touch the container: `Ok` or the first reason not to.
    pub fn may_touch(&self, c: &ContainerFacts<'_>, own: &OwnContainer) -> Result<(), Refusal> {
        if own.is(c.id) {
            return Err(Refusal::OwnContainer);
        }
        if is_exempt(c.labels) {
            return Err(Refusal::Exempt);
        }
        if !self.covers(c) {
            return Err(Refusal::NotSelected);
        }
        if let Some((k, v)) = &self.require {
            let ok = match (c.labels.get(k), v) {
                (Some(have), Some(want)) => have == want,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if !ok {
                let label = match v {
                    Some(v) => format!("{k}={v}"),
                    None => k.clone(),
                };
                return Err(Refusal::NotOptedIn(label));
            }
        }
        Ok(())
    }
}

/// Whether the labels carry the exempt label set to true.
pub fn is_exempt(labels: &HashMap<String, String>) -> bool {
    labels
        .get(EXEMPT_LABEL)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// `web` matches `web`, `web:latest` and `docker.io/library/web:latest`; `web:1` matches only
/// that tag; a `sha256:` id matches by prefix.
fn image_matches(want: &str, have: &str) -> bool {
    if want == have || (want.starts_with("sha256:") && have.starts_with(want)) {
        return true;
    }
    let normalise = |r: &str| {
        let r = r
            .strip_prefix("docker.io/library/")
            .or_else(|| r.strip_prefix("docker.io/"))
            .unwrap_or(r);
        let last = r.rsplit('/').next().unwrap_or(r);
        if last.contains(':') || last.contains('@') {
            r.to_string()
        } else {
            format!("{r}:latest")
        }
    };
    normalise(want) == normalise(have)
}

/// A listed container's name, without the leading `/` the engine puts on it.
pub fn listed_name(summary: &bollard::models::ContainerSummary) -> String {
    summary
        .names
        .as_ref()
        .and_then(|n| n.first())
        .map(|n| n.trim_start_matches('/').to_string())
        .unwrap_or_default()
}

/// The slot a container fills. Compose containers keep `project-service-N` across
/// recreation (Compose briefly names the new one `<id>_project-service-N`); others keep their
/// name across restarts and re-runs under the same name.
pub fn slot_of(name: &str, labels: &HashMap<String, String>) -> String {
    match (
        labels.get(COMPOSE_PROJECT),
        labels.get(COMPOSE_SERVICE),
        labels.get(COMPOSE_NUMBER),
    ) {
        (Some(p), Some(s), Some(n)) => format!("{p}-{s}-{n}"),
        _ => name.trim_start_matches('/').to_string(),
    }
}

/// The container firedrill runs in, if any, found from this process's own view of itself.
#[derive(Debug, Clone, Default)]
pub struct OwnContainer {
    /// Full 64-hex ids seen in /proc/self/cgroup or /proc/self/mountinfo.
    ids: Vec<String>,
    /// The hostname when it looks like a short container id (Docker's default hostname).
    short_id: Option<String>,
}

impl OwnContainer {
    /// Reads /proc/self/cgroup, /proc/self/mountinfo and the hostname.
    pub fn detect() -> OwnContainer {
        let mut ids = Vec::new();
        for file in ["/proc/self/cgroup", "/proc/self/mountinfo"] {
            if let Ok(text) = std::fs::read_to_string(file) {
                ids.extend(container_ids_in(&text));
            }
        }
        ids.sort();
        ids.dedup();
        let short_id = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| h.len() == 12 && is_hex(h));
        OwnContainer { ids, short_id }
    }

    /// From known ids, for tests.
    pub fn from_ids(ids: Vec<String>, short_id: Option<String>) -> OwnContainer {
        OwnContainer { ids, short_id }
    }

    /// Whether `id` is the container firedrill runs in.
    pub fn is(&self, id: &str) -> bool {
        self.ids.iter().any(|own| own == id)
            || self.short_id.as_deref().is_some_and(|s| id.starts_with(s))
    }
}

fn is_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// 64-hex runs that sit where Docker puts container ids: `/docker/<id>`,
/// `docker-<id>.scope`, `/containers/<id>/`.
fn container_ids_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, _) in text.match_indices(|c: char| c.is_ascii_hexdigit()) {
        let rest = &text[i..];
        if rest.len() < 64 || (i > 0 && text.as_bytes()[i - 1].is_ascii_hexdigit()) {
            continue;
        }
        let cand = &rest[..64];
        let after_ok = rest
            .as_bytes()
            .get(64)
            .map_or(true, |b| !b.is_ascii_hexdigit());
        let before = &text[..i];
        let placed = before.ends_with("/docker/")
            || before.ends_with("docker-")
            || before.ends_with("/containers/")
            || before.ends_with("/moby/");
        if is_hex(cand) && after_ok && placed {
            found.push(cand.to_string());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{ComposeSelector, OptIn, Selector};

    fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn target(select: Selector, require: Option<&str>) -> TargetSpec {
        TargetSpec::compile(&Target {
            name: "web".into(),
            select,
            require_label: require.map(|r| OptIn::parse(r).unwrap()),
            capacity: None,
            health: HealthCheck::default(),
            watch: Vec::new(),
        })
        .unwrap()
    }

    fn facts<'a>(id: &'a str, name: &'a str, l: &'a HashMap<String, String>) -> ContainerFacts<'a> {
        ContainerFacts {
            id,
            name,
            image: "firedrill-target:test",
            labels: l,
        }
    }

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn all_labels_must_match() {
        let t = target(
            Selector {
                labels: [
                    ("app".to_string(), "web".to_string()),
                    ("tier".into(), "a".into()),
                ]
                .into(),
                ..Selector::default()
            },
            None,
        );
        let both = labels(&[("app", "web"), ("tier", "a")]);
        let one = labels(&[("app", "web")]);
        assert!(t.covers(&facts(ID, "x", &both)));
        assert!(!t.covers(&facts(ID, "x", &one)));
    }

    #[test]
    fn exempt_wins_over_selector_and_opt_in() {
        let t = target(
            Selector {
                labels: [("app".to_string(), "web".to_string())].into(),
                ..Selector::default()
            },
            Some("firedrill.enabled=true"),
        );
        let l = labels(&[
            ("app", "web"),
            ("firedrill.enabled", "true"),
            (EXEMPT_LABEL, "true"),
        ]);
        let own = OwnContainer::default();
        assert_eq!(t.may_touch(&facts(ID, "x", &l), &own), Err(Refusal::Exempt));
        let opted = labels(&[("app", "web"), ("firedrill.enabled", "true")]);
        assert_eq!(t.may_touch(&facts(ID, "x", &opted), &own), Ok(()));
        let not_opted = labels(&[("app", "web")]);
        assert!(matches!(
            t.may_touch(&facts(ID, "x", &not_opted), &own),
            Err(Refusal::NotOptedIn(_))
        ));
    }

    #[test]
    fn compose_selector_needs_project_and_service() {
        let t = target(
            Selector {
                compose: Some(ComposeSelector {
                    project: "shop".into(),
                    service: "web".into(),
                }),
                ..Selector::default()
            },
            None,
        );
        let mine = labels(&[(COMPOSE_PROJECT, "shop"), (COMPOSE_SERVICE, "web")]);
        let other = labels(&[(COMPOSE_PROJECT, "blog"), (COMPOSE_SERVICE, "web")]);
        assert!(t.covers(&facts(ID, "x", &mine)));
        assert!(!t.covers(&facts(ID, "x", &other)));
    }

    #[test]
    fn name_regex_and_image() {
        let t = target(
            Selector {
                name: Some("^web-[0-9]+$".into()),
                image: Some("firedrill-target:test".into()),
                ..Selector::default()
            },
            None,
        );
        let l = labels(&[]);
        assert!(t.covers(&facts(ID, "web-1", &l)));
        assert!(!t.covers(&facts(ID, "db-1", &l)));
        assert!(image_matches("web", "docker.io/library/web:latest"));
        assert!(!image_matches("web:1", "web:2"));
    }

    #[test]
    fn own_container_is_never_touched() {
        let t = target(
            Selector {
                name: Some(".*".into()),
                ..Selector::default()
            },
            None,
        );
        let l = labels(&[]);
        let own = OwnContainer::from_ids(vec![ID.to_string()], None);
        assert_eq!(
            t.may_touch(&facts(ID, "me", &l), &own),
            Err(Refusal::OwnContainer)
        );
        let by_host = OwnContainer::from_ids(vec![], Some(ID[..12].to_string()));
        assert!(by_host.is(ID));
    }

    #[test]
    fn container_ids_are_found_in_cgroup_and_mountinfo_lines() {
        let cgroup_v1 = format!("12:memory:/docker/{ID}\n");
        let cgroup_v2 = format!("0::/system.slice/docker-{ID}.scope\n");
        let mountinfo =
            format!("600 590 0:50 /var/lib/docker/containers/{ID}/hostname /etc/hostname rw\n");
        for text in [cgroup_v1, cgroup_v2, mountinfo] {
            assert_eq!(container_ids_in(&text), vec![ID.to_string()], "{text}");
        }
        assert!(
            container_ids_in("4:memory:/process_api/320871d3b135da84da3dfcf77268fb0f").is_empty()
        );
    }

    #[test]
    fn compose_containers_keep_their_slot_across_recreation() {
        let l = labels(&[
            (COMPOSE_PROJECT, "shop"),
            (COMPOSE_SERVICE, "web"),
            (COMPOSE_NUMBER, "2"),
        ]);
        assert_eq!(slot_of("0123abcd_shop-web-2", &l), "shop-web-2");
        assert_eq!(slot_of("/plain", &labels(&[])), "plain");
    }

    #[test]
    fn a_selector_matching_everything_is_refused() {
        let err = TargetSpec::compile(&Target {
            name: "all".into(),
            select: Selector::default(),
            require_label: None,
            capacity: None,
            health: HealthCheck::default(),
            watch: Vec::new(),
        })
        .unwrap_err();
        assert!(err.to_string().contains("all"));
    }
}
