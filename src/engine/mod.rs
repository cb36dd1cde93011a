//! The run: the scheduler decides kills, the platform carries them out, recovery trackers time
//! them, and the recorder writes everything down as it happens.

pub mod phase;
pub mod status;
