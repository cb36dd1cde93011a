//! The run: when decisions are due ([`cadence`]), whom a kill may take ([`decide`]), the run
//! loop that hands victims to the platform ([`run`]), and where each kill is timed
//! ([`recovery`]), with capacity, probes, stop conditions and triggers beside them.

pub mod abort;
pub mod cadence;
pub mod capacity;
pub mod clock;
pub mod decide;
pub mod plan;
pub mod probes;
pub mod recovery;
pub mod run;
pub mod status;
pub mod trigger;
