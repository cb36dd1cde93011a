//! The words every layer shares and that import no other layer: time on a platform's clock
//! ([`time::Micros`]), the marks and spans of a recovery ([`phase`]), durations and shares in
//! human form ([`units`]), schedule windows ([`window`]), SLO and stop-condition expressions
//! ([`slo`], [`stop`]), signal names ([`signal`]), the seeded random streams ([`rng`]) and how
//! an error message echoes a user's value ([`echo`]), and how an instance is named for people
//! ([`identity`]).
//!
//! Each is parsed once, when the scenario is compiled, and travels typed from there on.

pub mod echo;
pub mod identity;
pub mod phase;
pub mod rng;
pub mod signal;
pub mod slo;
pub mod stop;
pub mod time;
pub mod units;
pub mod window;
