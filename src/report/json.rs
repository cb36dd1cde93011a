//! The json rendering of a [`RunReport`](super::RunReport).

use super::RunReport;

/// Renders the report as json.
pub fn render(_report: &RunReport) -> Vec<u8> {
    todo!("report helper")
}
