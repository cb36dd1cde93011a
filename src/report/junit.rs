//! `junit.xml` for CI systems that gate on test results (GitHub Actions, GitLab, Jenkins): one
//! testsuite for the scenario, one testcase per SLO (its measured value in system-out, passed
//! or not), one per unrecovered kill, and a failed "no stop condition fired" case when
//! `abort_when` ended the run. With drift evidence, the
//! suite's properties carry the drift counts and each kill that shows drift has a case whose
//! output says what; whether drift fails the run is for the `drift.*` SLOs to say.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::report::{identity, KillReport, RunReport, Verdict};
use crate::vocabulary::phase::Phase;
use crate::vocabulary::slo::DriftCheck;
use crate::vocabulary::units::format_micros;

/// Renders the report as JUnit XML.
pub fn render(report: &RunReport) -> Vec<u8> {
    let name = &report.scenario.name;
    let mut suite = TestSuite::new(name.as_str());
    suite.set_timestamp(report.started_at);
    suite.set_time(run_time(report));
    suite.add_properties([
        Property::new("seed", report.seed.to_string()),
        Property::new("platform", report.platform.as_str()),
        Property::new("scenario_path", report.scenario.path.as_str()),
        Property::new("scenario_sha256", report.scenario.sha256.as_str()),
        Property::new(
            "verdict",
            match report.verdict {
                Verdict::Pass => "pass",
                Verdict::Fail => "fail",
                Verdict::Aborted => "aborted",
            },
        ),
        Property::new("partial", report.partial.to_string()),
    ]);
    for slo in &report.slos {
        let status = if slo.passed {
            TestCaseStatus::success()
        } else {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_type("slo_breached");
            status.set_message(format!(
                "{}: measured {}, threshold {} {}",
                slo.metric, slo.measured_display, slo.op, slo.threshold_display
            ));
            status
        };
        let mut case = TestCase::new(format!("SLO {}", slo.slo), status);
        case.set_classname(format!("firedrill.{name}.slo"));
        // Passing cases carry the figure too, so a CI page shows how close each SLO came.
        case.set_system_out(format!(
            "{}: measured {}, threshold {} {} ({})",
            slo.metric,
            slo.measured_display,
            slo.op,
            slo.threshold_display,
            if slo.passed { "met" } else { "breached" }
        ));
        suite.add_test_case(case);
    }
    for kill in report.unrecovered() {
        suite.add_test_case(unrecovered_case(name, report, kill));
    }
    for kill in report.kills.iter() {
        if let Some(why) = &kill.invalid {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_type("invalid");
            status.set_message(format!(
                "kill #{}'s recovery is invalid: {why}",
                kill.kill_id
            ));
            let mut case = TestCase::new(
                format!(
                    "kill #{} {} has valid marks",
                    kill.kill_id,
                    identity::victim(report, kill).short
                ),
                status,
            );
            case.set_classname(format!("firedrill.{name}.kill"));
            suite.add_test_case(case);
        }
    }
    if let Some(drift) = &report.drift {
        for check in DriftCheck::ALL {
            suite.add_property(Property::new(
                format!("drift.{}", check.as_str()),
                drift.count(check).to_string(),
            ));
        }
        for kill in &report.kills {
            let findings = kill
                .drift
                .iter()
                .flat_map(|d| d.findings())
                .collect::<Vec<_>>();
            if findings.is_empty() {
                continue;
            }
            let mut case = TestCase::new(
                format!(
                    "kill #{} {} drift evidence",
                    kill.kill_id,
                    identity::victim(report, kill).short
                ),
                TestCaseStatus::success(),
            );
            case.set_classname(format!("firedrill.{name}.drift"));
            case.set_system_out(findings.join("\n"));
            suite.add_test_case(case);
        }
    }
    if let Some(abort) = &report.abort {
        // An aborted run must fail in CI even when every SLO measured so far held.
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status.set_type("aborted");
        status.set_message(format!(
            "stop condition `{}` fired (measured {})",
            abort.condition, abort.measured
        ));
        let mut case = TestCase::new("no stop condition fired", status);
        case.set_classname(format!("firedrill.{name}.abort_when"));
        suite.add_test_case(case);
    }
    let mut junit = Report::new(format!("firedrill {name}"));
    junit.add_test_suite(suite);
    // Serialising into memory fails only on a writer error, which a String cannot have; an
    // empty file would then fail loudly in any CI parser rather than pass silently.
    junit
        .to_string()
        .map(String::into_bytes)
        .unwrap_or_default()
}

fn unrecovered_case(name: &str, report: &RunReport, kill: &KillReport) -> TestCase {
    let victim = identity::victim(report, kill).short;
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
    status.set_type("unrecovered");
    if let Some(u) = &kill.unrecovered {
        let waited = kill
            .phases
            .get(&Phase::Kill)
            .and_then(|m| (u.at - m.at).num_microseconds())
            .and_then(|us| u64::try_from(us).ok());
        status.set_message(format!(
            "kill #{} of {victim} did not recover: stalled in {}{}",
            kill.kill_id,
            u.stalled_in,
            waited.map_or_else(String::new, |us| format!(" after {}", format_micros(us)))
        ));
    }
    let mut case = TestCase::new(format!("kill #{} {victim} recovers", kill.kill_id), status);
    case.set_classname(format!("firedrill.{name}.kill"));
    case
}

fn run_time(report: &RunReport) -> Duration {
    (report.ended_at - report.started_at)
        .to_std()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::build::fixtures;

    fn junit(name: &str) -> String {
        String::from_utf8(render(&fixtures::report(name))).unwrap()
    }

    #[test]
    fn junit_of_a_failed_nightly_run() {
        insta::assert_snapshot!(junit("shop-nightly"));
    }

    #[test]
    fn junit_of_a_crashed_run() {
        insta::assert_snapshot!(junit("local-crashed"));
    }

    #[test]
    fn failures_are_the_breached_slos_and_the_unrecovered_kills() {
        let report = fixtures::report("shop-nightly");
        let xml = junit("shop-nightly");
        let breached = report.slos.iter().filter(|s| !s.passed).count();
        let unrecovered = report.unrecovered().count();
        assert!(
            breached + unrecovered > 0,
            "the fixture must fail something"
        );
        assert_eq!(
            xml.matches("<failure ").count(),
            breached + unrecovered,
            "{xml}"
        );
        assert_eq!(
            xml.matches("<testcase ").count(),
            report.slos.len() + unrecovered,
            "{xml}"
        );
        for slo in report.slos.iter().filter(|s| !s.passed) {
            assert!(
                xml.contains(&format!("measured {}", slo.measured_display)),
                "{xml}"
            );
        }
    }
}
