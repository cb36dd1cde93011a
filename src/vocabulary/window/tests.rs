use super::*;

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn windows(texts: &[&str]) -> Windows {
    Windows::parse(&texts.iter().map(|t| t.to_string()).collect::<Vec<_>>()).unwrap()
}

#[test]
fn a_window_across_midnight_belongs_to_the_day_it_opens() {
    // 2026-11-27 is a Friday.
    let w = windows(&["Fri 22:00-02:00 UTC"]);
    assert!(!w.is_open(utc("2026-11-27T21:59:59Z")));
    assert!(w.is_open(utc("2026-11-27T22:00:00Z")));
    assert!(w.is_open(utc("2026-11-28T01:59:59Z")));
    assert!(!w.is_open(utc("2026-11-28T02:00:00Z")));
    // Saturday night is not Friday night.
    assert!(!w.is_open(utc("2026-11-28T23:00:00Z")));
    // Thursday's 01:00 would belong to a Wednesday window.
    assert!(!w.is_open(utc("2026-11-26T01:00:00Z")));
    assert_eq!(
        w.closes_after(utc("2026-11-27T23:00:00Z")),
        utc("2026-11-28T02:00:00Z")
    );
    assert_eq!(
        w.next_open(utc("2026-11-28T03:00:00Z")),
        Some(utc("2026-12-04T22:00:00Z"))
    );
}

#[test]
fn spring_forward_in_berlin_keeps_local_hours_and_shortens_the_night() {
    // 2026-03-29 is the last Sunday of March: 02:00 CET becomes 03:00 CEST.
    let office = windows(&["daily 09:00-17:00 Europe/Berlin"]);
    assert_eq!(
        office.next_open(utc("2026-03-28T00:00:00Z")),
        Some(utc("2026-03-28T08:00:00Z")),
        "Saturday is still CET (UTC+1)"
    );
    assert_eq!(
        office.next_open(utc("2026-03-29T00:00:00Z")),
        Some(utc("2026-03-29T07:00:00Z")),
        "Sunday is CEST (UTC+2)"
    );
    // 01:00–04:00 local lasts two real hours on that night.
    let night = windows(&["Sun 01:00-04:00 Europe/Berlin"]);
    let open = night.next_open(utc("2026-03-28T12:00:00Z")).unwrap();
    assert_eq!(open, utc("2026-03-29T00:00:00Z"));
    assert_eq!(night.closes_after(open), utc("2026-03-29T02:00:00Z"));
    // A window that opens inside the skipped hour opens when the gap ends, 03:00 CEST.
    let gap = windows(&["Sun 02:30-05:00 Europe/Berlin"]);
    assert_eq!(
        gap.next_open(utc("2026-03-28T12:00:00Z")),
        Some(utc("2026-03-29T01:00:00Z"))
    );
    assert!(!gap.is_open(utc("2026-03-29T00:59:00Z")));
    assert!(gap.is_open(utc("2026-03-29T01:00:00Z")));
}

#[test]
fn fall_back_in_berlin_lengthens_the_night_by_an_hour() {
    // 2026-10-25 is the last Sunday of October: 03:00 CEST becomes 02:00 CET.
    let night = windows(&["Sun 01:00-04:00 Europe/Berlin"]);
    let open = night.next_open(utc("2026-10-24T12:00:00Z")).unwrap();
    assert_eq!(open, utc("2026-10-24T23:00:00Z"), "01:00 CEST");
    let close = night.closes_after(open);
    assert_eq!(close, utc("2026-10-25T03:00:00Z"), "04:00 CET");
    assert_eq!((close - open).num_hours(), 4);
    // Both passes through 02:30 local are inside the window.
    assert!(night.is_open(utc("2026-10-25T00:30:00Z")));
    assert!(night.is_open(utc("2026-10-25T01:30:00Z")));
    // The week holding the change is one hour longer than a normal one.
    let week = night.open_per_week(utc("2026-10-19T00:00:00Z"));
    let normal = night.open_per_week(utc("2026-11-02T00:00:00Z"));
    assert_eq!(week, Duration::from_secs(4 * 3600));
    assert_eq!(normal, Duration::from_secs(3 * 3600));
}

#[test]
fn advance_counts_open_time_only() {
    let w = windows(&["daily 09:00-10:00 UTC"]);
    // 90 minutes of window time from 08:00 is the whole first hour and half the next day's.
    assert_eq!(
        w.advance(utc("2026-11-27T08:00:00Z"), Duration::from_secs(90 * 60)),
        Some(utc("2026-11-28T09:30:00Z"))
    );
    // Inside a window, open time is wall time.
    assert_eq!(
        w.advance(utc("2026-11-27T09:10:00Z"), Duration::from_secs(600)),
        Some(utc("2026-11-27T09:20:00Z"))
    );
}

#[test]
fn a_fully_closed_week_and_bad_windows_are_rejected() {
    let closed = Windows::parse(&[]).unwrap_err();
    assert!(closed.contains("kills could never happen"), "{closed}");
    let zone = Window::parse("Mon-Fri 09:00-17:00 Europe/Berlinn").unwrap_err();
    assert!(
        zone.contains("unknown time zone \"Europe/Berlinn\""),
        "{zone}"
    );
    assert!(Window::parse("Mon-Fry 09:00-17:00 UTC").is_err());
    assert!(Window::parse("Mon 09:00-09:00 UTC").is_err());
    assert!(Window::parse("Mon 25:00-26:00 UTC").is_err());
    assert!(Window::parse("Mon 09:00-17:00").is_err());
    // 24:00 closes a window at midnight, and ranges may wrap over the weekend.
    let w = windows(&["Fri-Mon 00:00-24:00 UTC"]);
    assert!(w.is_open(utc("2026-11-29T12:00:00Z")), "Sunday");
    assert!(!w.is_open(utc("2026-11-25T12:00:00Z")), "Wednesday");
}
