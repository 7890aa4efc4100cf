//! Rate-limited warnings for what unauthenticated peers can trigger at will (failed
//! handshakes, refused hellos): the first few in each window are logged as they come,
//! the rest counted and summed up in one line with the first event of a later window, so
//! a peer repeating a bad handshake cannot grow the log without bound (a count left when
//! the events stop is not reported).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Lines logged in full per window.
const PER_WINDOW: u32 = 10;
/// The window.
const WINDOW: Duration = Duration::from_secs(10);

/// What to do with one more event.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Log it, after a line saying how many were suppressed in the window that ended
    /// (when that is not zero).
    Log {
        /// Events of the previous window that were not logged.
        suppressed_before: u64,
    },
    /// Count it silently.
    Suppress,
}

/// A per-kind limiter (one per kind of warning).
#[derive(Debug)]
pub struct LogLimit {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    window_start: Option<Instant>,
    logged: u32,
    suppressed: u64,
}

impl Default for LogLimit {
    fn default() -> Self {
        LogLimit {
            state: Mutex::new(State {
                window_start: None,
                logged: 0,
                suppressed: 0,
            }),
        }
    }
}

impl LogLimit {
    /// Decides about one event at `now`.
    pub fn check(&self, now: Instant) -> Verdict {
        let Ok(mut s) = self.state.lock() else {
            return Verdict::Log {
                suppressed_before: 0,
            };
        };
        let expired = s
            .window_start
            .is_none_or(|start| now.saturating_duration_since(start) >= WINDOW);
        let mut suppressed_before = 0;
        if expired {
            suppressed_before = std::mem::take(&mut s.suppressed);
            s.window_start = Some(now);
            s.logged = 0;
        }
        if s.logged < PER_WINDOW {
            s.logged += 1;
            Verdict::Log { suppressed_before }
        } else {
            s.suppressed += 1;
            Verdict::Suppress
        }
    }
}

/// Logs a warning through `limit`: `warn_limited!(limit, "kind", fields...; "fmt", args)`.
macro_rules! warn_limited {
    ($limit:expr, $kind:literal, $($rest:tt)+) => {
        match $limit.check(std::time::Instant::now()) {
            $crate::aggregator::log_limit::Verdict::Log { suppressed_before } => {
                if suppressed_before > 0 {
                    tracing::warn!(
                        "{suppressed_before} more \"{}\" warnings in the last 10 s were not logged",
                        $kind
                    );
                }
                tracing::warn!($($rest)+);
            }
            $crate::aggregator::log_limit::Verdict::Suppress => {}
        }
    };
}
pub(crate) use warn_limited;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_logs_ten_then_counts_and_the_next_window_reports_the_count() {
        let limit = LogLimit::default();
        let t0 = Instant::now();
        let verdicts: Vec<Verdict> = (0..1000).map(|_| limit.check(t0)).collect();
        let logged = verdicts.iter().filter(|v| **v != Verdict::Suppress).count();
        assert_eq!(logged, PER_WINDOW as usize);
        assert_eq!(
            limit.check(t0 + WINDOW),
            Verdict::Log {
                suppressed_before: 1000 - u64::from(PER_WINDOW)
            }
        );
        assert_eq!(
            limit.check(t0 + WINDOW),
            Verdict::Log {
                suppressed_before: 0
            }
        );
    }
}
