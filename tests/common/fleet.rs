//! The quick managed fleet most end-to-end tests run: `replicas` copies of this build's
//! `firedrill target` on the local platform, health-checked over HTTP. Each test adds only the
//! lines it is about (schedule, policy, recovery, SLOs, probes).

use std::path::Path;

/// A scenario around one managed target named `web`.
#[derive(Debug, Clone)]
pub struct QuickFleet {
    name: String,
    replicas: u32,
    replace_delay: String,
    health_every: String,
    port_base: Option<u16>,
    rest: Vec<String>,
}

impl QuickFleet {
    /// `replicas` instances, each replaced after `replace_delay` (such as `100ms..200ms`),
    /// health-checked every 20 ms.
    pub fn new(name: &str, replicas: u32, replace_delay: &str) -> QuickFleet {
        QuickFleet {
            name: name.to_string(),
            replicas,
            replace_delay: replace_delay.to_string(),
            health_every: "20ms".to_string(),
            port_base: None,
            rest: Vec::new(),
        }
    }

    /// Checks health this often instead.
    pub fn health_every(mut self, every: &str) -> QuickFleet {
        self.health_every = every.to_string();
        self
    }

    /// Gives slot N the port `base + N`, so a probe can name an instance's port.
    pub fn port_base(mut self, base: u16) -> QuickFleet {
        self.port_base = Some(base);
        self
    }

    /// Adds top-level YAML after the target, such as `schedule: { every: 1s, max_kills: 4 }`.
    pub fn with(mut self, yaml: &str) -> QuickFleet {
        self.rest.push(yaml.trim_end().to_string());
        self
    }

    /// The scenario's text.
    pub fn yaml(&self) -> String {
        let port_base = self
            .port_base
            .map(|b| format!("        port_base: {b}\n"))
            .unwrap_or_default();
        format!(
            "version: 1\nname: {name}\nplatform: {{ kind: local }}\ntargets:\n  - name: web\n    \
             select:\n      managed:\n        command: [\"{bin}\", \"target\", \"--port\", \
             \"{{port}}\"]\n        replicas: {replicas}\n        replace_delay: {delay}\n\
             {port_base}    health: {{ http: {{ path: /health }}, every: {every} }}\n{rest}\n",
            name = self.name,
            bin = env!("CARGO_BIN_EXE_firedrill"),
            replicas = self.replicas,
            delay = self.replace_delay,
            every = self.health_every,
            rest = self.rest.join("\n"),
        )
    }

    /// Writes the scenario as `DIR/NAME.yaml` and returns its path.
    pub fn write(&self, dir: &Path) -> std::path::PathBuf {
        let path = dir.join(format!("{}.yaml", self.name));
        std::fs::write(&path, self.yaml()).expect("write scenario");
        path
    }

    /// The scenario, compiled as `firedrill` would.
    pub fn scenario(&self) -> firedrill::scenario::Scenario {
        let text = self.yaml();
        firedrill::scenario::parse_str(Path::new("quick-fleet.yaml"), &text)
            .unwrap_or_else(|e| panic!("the test scenario does not compile: {e:?}\n{text}"))
    }
}
