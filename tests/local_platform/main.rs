//! The local platform driven through the `Platform` trait against real processes: a managed
//! fleet of `firedrill target` servers, and attach mode against a shell supervisor loop.

mod attach;
#[path = "../common/mod.rs"]
mod common;
mod managed;
