//! The page's inline stylesheet: readable on screen, in print, and in black and white (every
//! colour also has a label or a legend entry).

/// The CSS, inlined into `<style>`.
pub const CSS: &str = r#"
:root{--fg:#1d232a;--muted:#5b6570;--line:#d7dce1;--pass:#1a7f37;--fail:#cf222e;
--detect:#e45756;--reschedule:#f58518;--boot:#4c78a8;--warm_up:#72b7b2;--restore:#54a24b;--total:#3b3f46}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);margin:24px auto;max-width:1000px;padding:0 16px}
header{display:flex;align-items:center;gap:16px}
h1{font-size:22px;margin:0}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
.verdict{font-weight:700;padding:3px 10px;border-radius:4px;color:#fff}
.verdict.pass,.badge.pass{background:var(--pass)}
.verdict.fail,.badge.fail{background:var(--fail)}
.badge{color:#fff;border-radius:3px;padding:1px 6px;font-size:12px;font-weight:600}
strong.fail{color:var(--fail)}
.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:12px 0}
.meta dt{font-weight:600}.meta dd{margin:0}
.muted{color:var(--muted)}
.warning{background:#fff8c5;border:1px solid #d4a72c;padding:6px 10px;border-radius:4px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line)}
th.num,td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.slo.fail td{background:#ffebe9}
figure{margin:8px 0;overflow-x:auto}
.legend span{margin-right:14px;white-space:nowrap}
.swatch{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px;border-radius:2px}
.swatch.span-detect{background:var(--detect)}.swatch.span-reschedule{background:var(--reschedule)}
.swatch.span-boot{background:var(--boot)}.swatch.span-warm_up{background:var(--warm_up)}
.swatch.span-restore{background:var(--restore)}.swatch.stalled{background:var(--fail);opacity:.35}
svg.chart{display:block;font:12px system-ui,sans-serif;background:#fff}
svg .grid{stroke:#eceff2;stroke-width:1}
svg .baseline{stroke:#9aa4ae;stroke-width:1}
svg .tick,svg .row-sub,svg .row-note{fill:var(--muted);font-size:11px}
svg .axis-label{fill:var(--muted);font-size:11px;font-style:italic}
svg .row-label{fill:var(--fg);font-weight:600}
svg .bar-label{fill:#fff;font-size:11px;font-weight:600}
svg .span-total{fill:var(--total)}svg .span-detect{fill:var(--detect)}svg .span-reschedule{fill:var(--reschedule)}
svg .span-boot{fill:var(--boot)}svg .span-warm_up{fill:var(--warm_up)}svg .span-restore{fill:var(--restore)}
svg .range{opacity:.85}
svg .max-tick{stroke:var(--fg);stroke-width:2}
svg .pct{stroke:var(--fg);stroke-width:1.5;stroke-dasharray:3 2}
svg .stalled{fill:var(--fail);opacity:.35}
svg .degraded{fill:var(--fail);opacity:.12}
svg .outage{fill:#777;opacity:.25}
svg .desired{stroke:var(--pass);stroke-width:1.5;stroke-dasharray:6 4}
svg .floor{stroke:var(--fail);stroke-width:1.5;stroke-dasharray:2 3}
svg .desired-label{fill:var(--pass)}svg .floor-label{fill:var(--fail)}
svg .healthy{fill:none;stroke:var(--boot);stroke-width:2.5}
svg .kill-line{stroke:var(--fg);stroke-width:1;stroke-dasharray:2 2;opacity:.7}
svg .kill-label{fill:var(--fg);font-size:10px}
svg line.kill-marker{stroke:var(--fg);stroke-width:3}
svg .count-axis,svg .count-tick{stroke:#9aa4ae;stroke-width:1}
svg .pct-label{fill:var(--fg);font-size:10px}
svg .probe-failure{fill:var(--fail);opacity:.8}
svg .kill-window{fill:var(--fg);opacity:.08}
svg .probe-fail{fill:var(--fail);opacity:.35}
svg .availability{fill:none;stroke:var(--pass);stroke-width:2}
svg .latency-mean{fill:none;stroke:var(--boot);stroke-width:1.5}
svg .latency-max{stroke:var(--boot);stroke-width:1;opacity:.5}
.instance{white-space:nowrap;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
table.breakdown{table-layout:fixed;margin-bottom:12px}
div.wide{overflow-x:auto}table.kills td,table.kills th{padding:4px 6px}
td.at{white-space:nowrap;font-variant-numeric:tabular-nums}
footer{margin-top:32px;color:var(--muted);font-size:12px}
@media print{body{margin:0;max-width:none}section,figure{break-inside:avoid}
.verdict,.badge{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"#;
