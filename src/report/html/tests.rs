use super::*;
use crate::report::build::fixtures;

fn html(name: &str) -> (RunReport, String) {
    let report = fixtures::report(name);
    let page = String::from_utf8(render(&report)).unwrap();
    (report, page)
}

/// The text of the `<svg>` with this id.
fn chart<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("<svg id=\"{id}\""))
        .unwrap_or_else(|| panic!("no {id} in the page"));
    let end = start + page[start..].find("</svg>").unwrap();
    &page[start..end]
}

#[test]
fn every_chart_is_on_the_page_with_one_marker_per_kill() {
    let (report, page) = html("shop-nightly");
    assert!(!report.kills.is_empty());
    for id in [
        "chart-capacity",
        "chart-histogram",
        "chart-phases",
        "chart-timeline",
    ] {
        chart(&page, id);
    }
    let markers = |id| chart(&page, id).matches("class=\"kill-marker\"").count();
    assert_eq!(markers("chart-capacity"), report.kills.len());
    assert_eq!(markers("chart-timeline"), report.kills.len());
    assert_eq!(markers("chart-histogram"), 0);
}

#[test]
fn the_page_fetches_nothing_and_runs_no_script() {
    let (_, page) = html("shop-nightly");
    assert!(!page.contains("<script"));
    assert!(!page.contains("<link"));
    let without_ns = page.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!without_ns.contains("http://") && !without_ns.contains("https://"));
}

#[test]
fn breached_slos_and_unrecovered_kills_are_named() {
    let (report, page) = html("shop-nightly");
    for slo in report.slos.iter().filter(|s| !s.passed) {
        assert!(page.contains(&escape(&slo.slo)), "{}", slo.slo);
    }
    let unrecovered = report.unrecovered().count();
    assert_eq!(
        page.matches("<li class=\"unrecovered\">").count(),
        unrecovered
    );
    assert_eq!(
        page.matches("<tr class=\"refused\">").count(),
        report.refused.len()
    );
}

#[test]
fn text_from_the_journal_is_escaped() {
    let mut report = fixtures::report("shop-nightly");
    report.scenario.name = "<script>alert(1)</script>".into();
    report.refused[0].reason = "a < b & \"c\"".into();
    let page = String::from_utf8(render(&report)).unwrap();
    assert!(!page.contains("<script>"));
    assert!(page.contains("a &lt; b &amp; &quot;c&quot;"));
}

#[test]
fn the_floor_is_drawn_only_when_the_scenario_has_one() {
    let mut report = fixtures::report("shop-nightly");
    report.capacity.min_healthy_floor = None;
    let page = String::from_utf8(render(&report)).unwrap();
    assert!(!chart(&page, "chart-capacity").contains("class=\"floor\""));
    report.capacity.min_healthy_floor = Some(2);
    let page = String::from_utf8(render(&report)).unwrap();
    assert!(chart(&page, "chart-capacity").contains("class=\"floor\""));
}

#[test]
fn a_run_without_kills_still_draws_every_chart() {
    let (report, page) = html("local-interrupted");
    for id in [
        "chart-capacity",
        "chart-histogram",
        "chart-phases",
        "chart-timeline",
    ] {
        assert_eq!(
            chart(&page, id).matches("kill-marker").count(),
            if id == "chart-histogram" || id == "chart-phases" {
                0
            } else {
                report.kills.len()
            }
        );
    }
}

/// The page's section for each `##` heading summary.md writes.
fn section_of(heading: &str) -> &'static str {
    match heading {
        "Aborted" => "abort",
        "SLOs" => "slos",
        "Recovery times" => "spans",
        "Capacity" => "capacity",
        "Platform outages" => "outages",
        "Drift" => "drift",
        "Probes" => "probes",
        "Kills" => "kills",
        "Node kills" => "node-kills",
        "Where the kills landed" => "breakdowns",
        "Services" => "services",
        "Clocks" => "clocks",
        "Refused decisions" => "refused",
        other => panic!("summary.md has a section {other:?} the page has no counterpart for"),
    }
}

#[test]
fn every_section_of_summary_md_is_on_the_page() {
    let mut seen = 0;
    for name in [
        "recorded-swarm-probes",
        "recorded-swarm-global",
        "shop-nightly",
        "recorded-local-probes",
        "local-crashed",
        "recorded-swarm-node-drain",
        "recorded-swarm-node-loss",
    ] {
        let (report, page) = html(name);
        let md = String::from_utf8(crate::report::markdown::render(&report)).unwrap();
        for heading in md.lines().filter_map(|l| l.strip_prefix("## ")) {
            let id = section_of(heading);
            assert!(
                page.contains(&format!("<section id=\"{id}\">")),
                "{name}: summary.md has {heading:?}, the page no section {id}"
            );
            seen += 1;
        }
    }
    assert!(seen >= 30, "{seen} sections checked");
}

#[test]
fn the_swarm_sections_hold_what_summary_md_says() {
    let (report, page) = html("recorded-swarm-probes");
    let facts = report.platform_facts.as_ref().unwrap();
    for (name, s) in facts.services.as_ref().unwrap() {
        assert!(
            page.contains(&format!(
                "<tr class=\"service\"><td>{name}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td>",
                s.mode, s.desired_tasks, s.restart_policy.condition, s.restart_policy.delay
            )),
            "service {name}"
        );
    }
    for (phase, source) in &facts.clocks {
        assert!(page.contains(&format!("<dt>{phase}</dt><dd>{}</dd>", escape(source))));
    }
    for (dimension, rows) in &report.breakdowns {
        for r in rows {
            assert!(
                page.contains(&format!(
                    "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
                    r.name, r.kills, r.recovered
                )),
                "{dimension} {}",
                r.name
            );
        }
    }
}

#[test]
fn kills_show_their_time_and_short_ids_with_the_full_id_on_hover() {
    let (report, page) = html("shop-nightly");
    let kills = &page[page.find("<section id=\"kills\">").unwrap()..];
    for k in &report.kills {
        let at = format_clock(k.killed_at().unwrap());
        assert!(
            kills.contains(&format!(">{at}</td>")),
            "kill {} at {at}",
            k.kill_id
        );
        let v = identity::victim(&report, k);
        assert!(kills.contains(&format!(
            "<span class=\"instance\" title=\"{}\">{}</span>",
            escape(&v.full),
            escape(&v.short)
        )));
    }
    // Kill 1's replacement, 8be1d04c9a55, shown by its short id beside its slot.
    assert!(
        kills.contains(">8be1d04c9a55 (shop-web-1)</span>"),
        "{kills}"
    );
}

#[test]
fn a_span_that_is_zero_in_every_kill_is_not_drawn_and_is_named_once() {
    let (report, page) = html("recorded-local-demo-full");
    assert!(report.is_zero_span(Span::Restore));
    assert!(
        !page.contains("span-restore\""),
        "no restore bar or segment"
    );
    assert!(!page.contains("<th class=\"num\">restore</th>"));
    assert_eq!(
        page.matches("restore (healthy → restored) took 0").count(),
        1
    );
    // A span with real times stays.
    assert!(page.contains("<th class=\"num\">warm_up</th>"));
}

/// A tick label in seconds: `0`, `500ms`, `5s`, `1m30s`.
fn seconds(label: &str) -> f64 {
    let mut total = 0.0;
    let mut number = String::new();
    let mut chars = label.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let unit = match (c, chars.peek()) {
            ('m', Some('s')) => {
                chars.next();
                1e-3
            }
            ('u', Some('s')) => {
                chars.next();
                1e-6
            }
            ('h', _) => 3600.0,
            ('m', _) => 60.0,
            ('s', _) => 1.0,
            _ => panic!("tick {label:?}"),
        };
        total += number.parse::<f64>().unwrap() * unit;
        number.clear();
    }
    if !number.is_empty() {
        total += number.parse::<f64>().unwrap();
    }
    total
}

#[test]
fn time_ticks_fall_on_round_values() {
    for name in [
        "recorded-local-demo-full",
        "recorded-swarm-probes",
        "shop-nightly",
    ] {
        let (_, page) = html(name);
        for id in ["chart-capacity", "chart-timeline"] {
            let ticks: Vec<f64> = chart(&page, id)
                .split("<text class=\"tick time-tick\"")
                .skip(1)
                .filter_map(|t| t.split('>').nth(1)?.split('<').next())
                .map(seconds)
                .collect();
            assert!(ticks.len() >= 4, "{name} {id}: {ticks:?}");
            let step = ticks[1] - ticks[0];
            let mantissa = step / 10f64.powf(step.log10().floor());
            let minutes = [15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0];
            assert!(
                [1.0, 2.0, 5.0].iter().any(|m| (mantissa - m).abs() < 1e-6)
                    || minutes.contains(&step),
                "{name} {id}: step {step} in {ticks:?}"
            );
            for (i, t) in ticks.iter().enumerate() {
                assert!((t - step * i as f64).abs() < 1e-6, "{name} {id}: {ticks:?}");
            }
        }
    }
}

/// The text of the `<section>` with this id.
fn section_text<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("<section id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no section {id} in the page"));
    let end = start + page[start..].find("</section>").unwrap();
    &page[start..end]
}

#[test]
fn node_kills_show_what_each_node_took_down_where_it_went_and_when_it_was_back() {
    for (name, row) in [
        (
            "recorded-swarm-node-drain",
            "<td><code>drain for 15s</code></td><td>2: web.1, web.4</td>\
             <td>web.1 → fdlab-n1, web.4 → fdlab-n3</td><td class=\"num\">+0us</td>\
             <td class=\"num\">+3.2s</td><td class=\"num\">+15s</td></tr>",
        ),
        (
            "recorded-swarm-node-loss",
            "<td><code>command /work/main/lab/swarm-lab cut {hostname}</code></td>\
             <td>2: web.1, web.2</td><td>web.1 → fdlab-n3, web.2 → fdlab-n1</td>\
             <td class=\"num\">+11.1s</td><td class=\"num\">+13.7s</td>\
             <td class=\"num\">+32s</td></tr>",
        ),
    ] {
        let (report, page) = html(name);
        let section = section_text(&page, "node-kills");
        assert_eq!(
            section.matches("<tr class=\"node-kill\">").count(),
            1,
            "{name}"
        );
        let k = &report.kills[0];
        assert!(
            section.contains(&format!(
                "<td class=\"node\" title=\"{}, slot fdlab-n2\">fdlab-n2</td>",
                k.victim
            )),
            "{name}: {section}"
        );
        assert!(section.contains(row), "{name}: {section}");
        // Which clock each shown mark comes from, as the platform said.
        let clocks = &report.platform_facts.as_ref().unwrap().clocks;
        for mark in ["down", "replaced", "restored", "back"] {
            assert!(section.contains(&escape(&clocks[mark])), "{name}: {mark}");
        }
        // In the kills table the node is the victim, and the moved tasks its replacements.
        let kills = section_text(&page, "kills");
        let moved = &k.node.as_ref().unwrap().moved_to;
        for t in moved {
            assert!(kills.contains(&format!(">{} ({})</span>", &t.task[..12], t.slot)));
        }
        assert_eq!(
            kills.matches("(fdlab-n2)</span>").count(),
            1,
            "{name}: {kills}"
        );
    }
}

#[test]
fn a_run_of_task_kills_has_no_node_kills_section() {
    for name in [
        "recorded-swarm-probes",
        "recorded-swarm-global",
        "shop-nightly",
    ] {
        let (_, page) = html(name);
        assert!(!page.contains("node-kill"), "{name}");
    }
}
