//! The terminal rendering of a [`RunReport`](super::RunReport).

use super::RunReport;

/// Renders the report as terminal.
pub fn render(_report: &RunReport) -> Vec<u8> {
    todo!("report helper")
}
