//! The run: the scheduler decides kills, the platform carries them out, recovery trackers time
//! them, and the recorder writes everything down as it happens.

pub mod abort;
pub mod capacity;
pub mod plan;
pub mod recovery;
pub mod run;
pub mod scheduler;
pub mod status;
pub mod trigger;
