//! The local platform driven through the `Platform` trait against real processes: a managed
//! fleet of `firedrill target` servers, and attach mode against a shell supervisor loop.

mod attach;
mod common;
mod managed;
