//! The wall clock of the request path.
//!
//! Every request needs the time (token expiry, `aws:CurrentTime`, `aws:EpochTime`), and a precise
//! clock read costs 20–30 ns on a virtual machine, several times per request. Nothing on the
//! request path needs better than a second, so on Linux this reads `CLOCK_REALTIME_COARSE`: the
//! time of the last scheduler tick (1–4 ms old), read from the vDSO page without touching the
//! hardware clock. Elsewhere it is [`SystemTime::now`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Now, to within a scheduler tick.
#[cfg(target_os = "linux")]
pub fn now() -> SystemTime {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
    match (u64::try_from(t.tv_sec), u32::try_from(t.tv_nsec)) {
        (Ok(secs), Ok(nanos)) => UNIX_EPOCH + Duration::new(secs, nanos),
        // Before 1970: not a clock anyone runs a server on; the precise clock decides.
        _ => SystemTime::now(),
    }
}

/// Now, to within a scheduler tick.
#[cfg(not(target_os = "linux"))]
pub fn now() -> SystemTime {
    SystemTime::now()
}

/// Seconds since the Unix epoch, now.
#[cfg(target_os = "linux")]
pub fn epoch_seconds() -> i64 {
    rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse).tv_sec
}

/// Seconds since the Unix epoch, now.
#[cfg(not(target_os = "linux"))]
pub fn epoch_seconds() -> i64 {
    now().duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)).unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_the_precise_clock() {
        let precise = SystemTime::now();
        let coarse = now();
        let gap = precise.duration_since(coarse).unwrap_or_else(|e| e.duration());
        // A tick is at most 10 ms (HZ=100); allow for being descheduled between the two reads.
        assert!(gap < Duration::from_millis(500), "coarse clock off by {gap:?}");
        assert!((epoch_seconds() - precise.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64).abs() <= 1);
    }
}
