//! The local platform driven through the `Platform` trait against real processes: a managed
//! fleet of `firedrill target` servers, attach mode against a shell supervisor loop, and the
//! drift evidence of managed processes.

mod attach;
#[path = "../common/mod.rs"]
mod common;
mod evidence;
mod managed;
