use super::*;
use crate::scenario::file::ActionFile;
use crate::scenario::Action;
use crate::scenario::{HealthSource, ProcessSelector, Trigger};
use crate::vocabulary::units::Percent;

const LOCAL: &str = include_str!("../../../tests/fixtures/scenarios/local-managed.yaml");
const DOCKER: &str = include_str!("../../../tests/fixtures/scenarios/docker-labels.yaml");

fn local() -> ScenarioFile {
    crate::scenario::yaml::parse(LOCAL).unwrap()
}

fn docker() -> ScenarioFile {
    crate::scenario::yaml::parse(DOCKER).unwrap()
}

fn check(s: &ScenarioFile) -> Compiled {
    compile(s, Path::new("t.yaml"), "")
}

fn error_fields(c: &Compiled) -> Vec<&str> {
    c.errors.iter().map(|f| f.field.as_str()).collect()
}

fn warning_fields(c: &Compiled) -> Vec<&str> {
    c.warnings.iter().map(|f| f.field.as_str()).collect()
}

fn message_of<'a>(findings: &'a [Finding], field: &str) -> &'a str {
    findings
        .iter()
        .find(|f| f.field == field)
        .map(|f| f.message.as_str())
        .unwrap_or_else(|| panic!("no finding at {field}: {findings:?}"))
}

#[test]
fn the_example_scenarios_are_clean() {
    for s in [local(), docker()] {
        let c = check(&s);
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let compiled = c.scenario.expect("a clean file compiles");
        assert_eq!(compiled.slos.len(), s.slos.len());
    }
}

#[test]
fn version_and_name_are_checked() {
    let mut s = local();
    s.version = 2;
    s.name = "../etc".into();
    let c = check(&s);
    assert_eq!(error_fields(&c), ["version", "name"]);
    s.version = 1;
    for bad in ["", ".", "..", "a b", "x/y"] {
        s.name = bad.into();
        assert_eq!(error_fields(&check(&s)), ["name"], "name {bad:?}");
    }
    s.name = "a".repeat(101);
    assert_eq!(error_fields(&check(&s)), ["name"]);
    s.name = "web_nightly-2.0".into();
    assert!(check(&s).errors.is_empty());
    s.report.dir = "".into();
    assert_eq!(error_fields(&check(&s)), ["report.dir"]);
}

#[test]
fn every_problem_is_collected_not_only_the_first() {
    let mut s = local();
    s.version = 9;
    s.targets.clear();
    s.schedule.every = None;
    s.recovery.timeout = HumanDuration::default();
    let c = check(&s);
    assert_eq!(
        error_fields(&c),
        ["version", "targets", "schedule", "recovery.timeout"]
    );
}

#[test]
fn target_names_must_be_unique() {
    let mut s = local();
    s.targets.push(s.targets[0].clone());
    let c = check(&s);
    assert_eq!(error_fields(&c), ["targets[1].name"]);
    assert!(message_of(&c.errors, "targets[1].name").contains("targets[0]"));
}

#[test]
fn local_targets_take_exactly_one_of_managed_and_process() {
    let mut s = local();
    s.targets[0].health = Default::default();
    s.targets[0].select.process = Some(ProcessSelector {
        name: Some("web".into()),
        cmdline: None,
    });
    s.targets[0].require_label = Some("FIREDRILL_TARGET=web".into());
    assert_eq!(error_fields(&check(&s)), ["targets[0].select.process"]);
    s.targets[0].select.managed = None;
    s.targets[0].select.process = None;
    assert_eq!(error_fields(&check(&s)), ["targets[0].select"]);
}

#[test]
fn selectors_of_another_platform_are_named() {
    let mut s = local();
    s.targets[0].select.image = Some("web:1".into());
    s.targets[0].select.service = Some("web".into());
    let c = check(&s);
    assert_eq!(
        error_fields(&c),
        ["targets[0].select.image", "targets[0].select.service"]
    );
    assert!(message_of(&c.errors, "targets[0].select.image").contains("managed"));

    let mut s = docker();
    s.platform = PlatformConfig::Swarm {
        host: None,
        nodes: Default::default(),
    };
    let c = check(&s);
    assert_eq!(error_fields(&c), ["targets[0].select.name"]);
    s.targets[0].select.labels.clear();
    assert_eq!(
        error_fields(&check(&s)),
        ["targets[0].select.name", "targets[0].select"]
    );
}

#[test]
fn regexes_must_compile() {
    let mut s = docker();
    s.targets[0].select.name = Some("web-(".into());
    let c = check(&s);
    assert_eq!(error_fields(&c), ["targets[0].select.name"]);
    let message = message_of(&c.errors, "targets[0].select.name");
    assert!(!message.contains('\n'), "{message}");
    assert!(message.contains("unclosed group"), "{message}");
}

#[test]
fn attaching_to_processes_needs_a_valid_opt_in() {
    let mut s = local();
    s.targets[0].health = Default::default();
    s.targets[0].select.managed = None;
    s.targets[0].select.process = Some(ProcessSelector {
        name: None,
        cmdline: Some("web --port [0-9]+".into()),
    });
    assert_eq!(error_fields(&check(&s)), ["targets[0].require_label"]);
    for (label, ok) in [
        ("FIREDRILL_TARGET=web", true),
        ("FIREDRILL_TARGET", false),
        ("=web", false),
        ("FIREDRILL_TARGET=", false),
        ("firedrill.enabled=true", false),
        ("firedrill.exempt=true", false),
    ] {
        s.targets[0].require_label = Some(label.into());
        assert_eq!(check(&s).errors.is_empty(), ok, "require_label {label:?}");
    }
    s.targets[0].require_label = Some("OK=1".into());
    s.targets[0].select.process = Some(ProcessSelector {
        name: None,
        cmdline: None,
    });
    assert_eq!(error_fields(&check(&s)), ["targets[0].select.process"]);
}

#[test]
fn capacity_must_be_positive_and_reachable() {
    let mut s = docker();
    s.targets[0].capacity = Some(0);
    assert_eq!(error_fields(&check(&s)), ["targets[0].capacity"]);
    let mut s = local();
    s.targets[0].capacity = Some(5);
    let c = check(&s);
    assert!(error_fields(&c).contains(&"targets[0].capacity"), "{c:?}");
    s.targets[0].capacity = Some(4);
    assert!(check(&s).errors.is_empty());
}

#[test]
fn managed_fleets_need_replicas_and_a_command() {
    let mut s = local();
    let managed = s.targets[0].select.managed.as_mut().unwrap();
    managed.replicas = 0;
    managed.command.clear();
    s.policy.min_healthy = None;
    assert_eq!(
        error_fields(&check(&s)),
        [
            "targets[0].select.managed.replicas",
            "targets[0].select.managed.command"
        ]
    );
}

#[test]
fn health_checks_fit_the_platform_and_the_target() {
    let mut s = local();
    s.targets[0].health.from = Some(HealthSource::Docker);
    assert_eq!(
        error_fields(&check(&s)),
        ["targets[0].health", "targets[0].health.from"]
    );
    s.targets[0].health.http = None;
    s.targets[0].health.every = Some(HumanDuration::default());
    assert_eq!(
        error_fields(&check(&s)),
        ["targets[0].health.from", "targets[0].health.every"]
    );
    let mut s = docker();
    s.targets[0].health.from = None;
    s.targets[0].health.tcp = Some(crate::scenario::TcpCheck { port: None });
    assert_eq!(error_fields(&check(&s)), ["targets[0].health.tcp"]);
    s.targets[0].health.tcp = Some(crate::scenario::TcpCheck { port: Some(80) });
    assert!(check(&s).errors.is_empty());
}

fn secs(n: u64) -> Option<HumanDuration> {
    Some(HumanDuration(Duration::from_secs(n)))
}

#[test]
fn a_schedule_has_one_interval_and_an_end() {
    let mut s = local();
    s.schedule.mean_time_between_kills = secs(5);
    assert_eq!(
        error_fields(&check(&s)),
        ["schedule.mean_time_between_kills"]
    );
    s.schedule.mean_time_between_kills = None;
    s.schedule.duration = None;
    s.schedule.max_kills = None;
    assert_eq!(error_fields(&check(&s)), ["schedule"]);
    s.schedule.max_kills = Some(0);
    assert_eq!(error_fields(&check(&s)), ["schedule.max_kills"]);
    s.schedule.max_kills = Some(3);
    s.schedule.jitter = secs(3);
    assert_eq!(error_fields(&check(&s)), ["schedule.jitter"]);
    s.schedule.jitter = None;
    s.schedule.every = secs(0);
    assert_eq!(error_fields(&check(&s)), ["schedule.every"]);
}

#[test]
fn a_run_shorter_than_its_first_interval_is_a_warning() {
    let mut s = local();
    s.schedule.duration = secs(2);
    let c = check(&s);
    assert!(c.errors.is_empty());
    assert_eq!(warning_fields(&c), ["schedule.duration"]);
}

#[test]
fn a_pick_above_max_in_flight_can_never_happen() {
    let mut s = local();
    s.policy.pick = CountOrPercent::Count(2);
    s.policy.min_healthy = None;
    assert_eq!(error_fields(&check(&s)), ["policy.pick"]);
    s.policy.max_in_flight = 2;
    assert!(check(&s).errors.is_empty());
    s.policy.pick = CountOrPercent::Count(0);
    assert_eq!(error_fields(&check(&s)), ["policy.pick"]);
    s.policy.pick = CountOrPercent::Percent(Percent(0.0));
    assert_eq!(error_fields(&check(&s)), ["policy.pick"]);
    s.policy.pick = CountOrPercent::Count(1);
    s.policy.max_in_flight = 0;
    assert_eq!(error_fields(&check(&s)), ["policy.max_in_flight"]);
}

#[test]
fn min_healthy_above_capacity_is_an_error_and_equal_to_it_a_warning() {
    let mut s = local();
    s.policy.min_healthy = Some(CountOrPercent::Count(5));
    let c = check(&s);
    assert_eq!(error_fields(&c), ["policy.min_healthy"]);
    assert!(message_of(&c.errors, "policy.min_healthy").contains("capacity 4"));
    for refuses_all in [
        CountOrPercent::Count(4),
        CountOrPercent::Percent(Percent(100.0)),
        CountOrPercent::Percent(Percent(80.0)),
    ] {
        s.policy.min_healthy = Some(refuses_all);
        let c = check(&s);
        assert!(c.errors.is_empty(), "{refuses_all}: {:?}", c.errors);
        assert_eq!(warning_fields(&c), ["policy.min_healthy"], "{refuses_all}");
    }
    s.policy.min_healthy = Some(CountOrPercent::Count(3));
    let c = check(&s);
    assert!(c.errors.is_empty() && c.warnings.is_empty());
}

#[test]
fn actions_fit_the_platform() {
    let mut s = local();
    s.action = ActionFile::Pause {
        duration: HumanDuration(Duration::from_secs(5)),
    };
    assert_eq!(error_fields(&check(&s)), ["action.kind"]);
    s.action = ActionFile::Remove {};
    assert_eq!(error_fields(&check(&s)), ["action.kind"]);
    for ok in [ActionFile::Crash {}, ActionFile::default()] {
        s.action = ok;
        assert!(check(&s).errors.is_empty());
    }
    let mut s = docker();
    s.action = ActionFile::Pause {
        duration: HumanDuration::default(),
    };
    assert_eq!(error_fields(&check(&s)), ["action.for"]);
    s.action = ActionFile::Pause {
        duration: HumanDuration(Duration::from_secs(600)),
    };
    let c = check(&s);
    assert!(c.errors.is_empty());
    assert_eq!(warning_fields(&c), ["action.for"]);
}

#[test]
fn unknown_signals_list_the_known_ones() {
    let mut s = local();
    s.action = ActionFile::Kill {
        signal: "SIGBOOM".into(),
    };
    let c = check(&s);
    let message = message_of(&c.errors, "action.signal");
    assert!(
        message.contains("SIGTERM") && message.contains("SIGBOOM"),
        "{message}"
    );
    s.action = ActionFile::Kill {
        signal: "term".into(),
    };
    assert!(check(&s).errors.is_empty());
}

#[test]
fn recovery_limits_and_trigger_are_checked() {
    let mut s = local();
    s.recovery.trigger = Some(Trigger {
        command: vec![],
        timeout: Some(HumanDuration::default()),
    });
    assert_eq!(
        error_fields(&check(&s)),
        ["recovery.trigger.command", "recovery.trigger.timeout"]
    );
}

#[test]
fn slo_errors_point_at_their_line_and_the_rest_are_parsed() {
    let mut s = local();
    s.slos = vec![
        "recovery.p99 < 5s".into(),
        "recovery.p98 < 5s".into(),
        "kills >= 1".into(),
    ];
    let c = check(&s);
    assert_eq!(error_fields(&c), ["slos[1]"]);
    assert!(message_of(&c.errors, "slos[1]").contains("known metrics"));
    assert!(
        c.scenario.is_none(),
        "a file with an error compiles to nothing"
    );
}

#[test]
fn engine_endpoints_must_be_urls() {
    let mut s = docker();
    let mut nodes = std::collections::BTreeMap::new();
    nodes.insert("w1".to_string(), "tcp://10.0.0.1:2375".to_string());
    nodes.insert("w2".to_string(), "10.0.0.2".to_string());
    s.platform = PlatformConfig::Swarm {
        host: Some("unix://".into()),
        nodes,
    };
    s.targets[0].select = crate::scenario::Selector {
        service: Some("web".into()),
        ..Default::default()
    };
    assert_eq!(
        error_fields(&check(&s)),
        ["platform.host", "platform.nodes.w2"]
    );
}

#[test]
fn a_drift_slo_needs_drift_evidence_captured() {
    let mut s = docker();
    s.slos = vec!["drift.carried_over == 0".into()];
    let c = check(&s);
    assert_eq!(
        message_of(&c.errors, "slos[0]"),
        "drift.carried_over counts drift evidence, which is captured only with recovery: { drift: true }"
    );
    s.recovery.drift = true;
    assert!(check(&s).errors.is_empty(), "{:?}", check(&s).errors);
    s.slos = vec!["drift.snowflakes == 0".into()];
    assert!(message_of(&check(&s).errors, "slos[0]").contains("unknown drift check"));
}

const NODE_DRAIN: &str = include_str!("../../../scenarios/swarm-node-drain.yaml");
const NODE_LOSS: &str = include_str!("../../../scenarios/swarm-node-loss.yaml");

#[test]
fn node_scenarios_compile_with_their_actions() {
    let drain = check(&crate::scenario::yaml::parse(NODE_DRAIN).unwrap());
    assert!(drain.errors.is_empty(), "{:?}", drain.errors);
    let drain = drain.scenario.expect("compiles");
    assert!(matches!(drain.action, Action::Drain { .. }));
    assert_eq!(drain.targets[0].watch, ["web"]);
    let loss = check(&crate::scenario::yaml::parse(NODE_LOSS).unwrap());
    assert!(loss.errors.is_empty(), "{:?}", loss.errors);
    let Action::Command(command) = loss.scenario.expect("compiles").action else {
        panic!("a command action");
    };
    assert_eq!(command.run, ["lab/swarm-lab", "cut", "{hostname}"]);
    assert_eq!(command.undo_after.get(), Duration::from_secs(40));
}

#[test]
fn node_targets_and_node_actions_go_together() {
    let node = |edit: &dyn Fn(&mut String)| {
        let mut text = NODE_LOSS.to_string();
        edit(&mut text);
        check(&crate::scenario::yaml::parse(&text).unwrap())
    };
    let c = node(&|t| *t = t.replace("    watch: [web]\n", ""));
    assert_eq!(error_fields(&c), ["targets[0].watch"]);
    let c = node(&|t| *t = t.replace("\"{hostname}\"]      #", "\"{host}\"]      #"));
    assert_eq!(error_fields(&c), ["action.run[2]"]);
    assert!(message_of(&c.errors, "action.run[2]").contains("unknown placeholder {host}"));
    let c = node(&|t| *t = t.replace("pick: 1, max_in_flight: 1", "pick: 2, max_in_flight: 2"));
    assert_eq!(error_fields(&c), ["policy.pick"]);
    let c = node(&|t| *t = t.replace("role: worker", "role: boss"));
    assert_eq!(error_fields(&c), ["targets[0].select.nodes.role"]);
    let c = node(&|t| {
        *t = t.replace(
            "    watch: [web]\n",
            "    watch: [web]\n  - name: web\n    select: { service: web }\n",
        )
    });
    assert_eq!(error_fields(&c), ["targets"]);
    let c = node(&|t| {
        *t = t.replace(
            "nodes: { role: worker }",
            "nodes: { role: worker }, service: web",
        )
    });
    assert_eq!(error_fields(&c), ["targets[0].select.nodes"]);
    // A task scenario with a node action, and a node target with a task action.
    let mut s = docker();
    s.action = ActionFile::Drain {
        duration: HumanDuration(Duration::from_secs(5)),
    };
    assert_eq!(error_fields(&check(&s)), ["action.kind"]);
    let c = node(&|t| {
        let start = t.find("action:").unwrap();
        let end = t.find("recovery:").unwrap();
        t.replace_range(start..end, "action: { kind: kill }\n");
    });
    assert_eq!(error_fields(&c), ["action.kind"]);
}
