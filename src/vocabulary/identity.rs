//! How an instance is named for people, in every output: the reports, the live log lines and
//! junit.xml. A local process is its PID and the slot it fills; a container or Swarm task is
//! its id cut to Docker's 12 characters and the slot (a container's slot is its name; a Swarm
//! task's name is the slot plus that same short id).

/// Characters of a container or task id shown, as `docker ps` shows them.
pub const SHORT_ID: usize = 12;

/// The short name: `PID 11085 (web/3)` on the local platform, `3f9c1a7e22b0 (shop-web-1)` on
/// the others.
pub fn short(platform: &str, id: &str, slot: &str) -> String {
    if platform == "local" {
        format!("PID {id} ({slot})")
    } else {
        format!("{} ({slot})", id.get(..SHORT_ID).unwrap_or(id))
    }
}

/// Everything known, for a hover title: the full id, the slot, and the platform's own `name`
/// when it differs from the slot.
pub fn full(platform: &str, id: &str, slot: &str, name: Option<&str>) -> String {
    let head = if platform == "local" {
        format!("PID {id}")
    } else {
        id.to_string()
    };
    match name.filter(|n| *n != slot) {
        Some(name) => format!("{head}, slot {slot}, named {name}"),
        None => format!("{head}, slot {slot}"),
    }
}
