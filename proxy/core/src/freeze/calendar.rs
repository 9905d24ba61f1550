//! One freeze window's calendar: when its occurrences start and end. A recurring window is a
//! standard 5-field cron `schedule` evaluated on the wall clock of its IANA zone (the Argo CD
//! sync-window fields) plus a `duration` of elapsed time; a fixed window is one absolute
//! interval (config `start`/`end`, or a manual "stop the line" freeze). Every occurrence is
//! half-open: frozen from its start (inclusive) to its end (exclusive). Time is always passed
//! in; nothing here reads a clock.
//!
//! Daylight-saving time follows croner (the Open Cron Pattern Specification rules):
//! - a wall-clock time the clock skips (spring forward) fires, for a pattern with one fixed
//!   second, minute and hour (`30 2 * * *`), at the first instant after the gap (03:00 local);
//!   a pattern with several or stepped hours or minutes simply has no fire in the gap. The
//!   cron library Argo CD uses documents that it skips such a fire instead; a freeze that
//!   silently does not happen once a year is the worse failure, so we keep croner's rule.
//! - a wall-clock time the clock repeats (fall back) fires once, at the earlier instant, for
//!   a fixed pattern (at both for an interval pattern).
//! - `duration` is elapsed time: a 24h occurrence that spans a change ends 24 real hours later,
//!   which the zone's wall clock shows as 25 hours (spring) or 23 hours (autumn) later.

use super::scope::Scope;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;
use std::time::Duration;

/// The longest recurring `duration` accepted (366 days). A longer occurrence would freeze for
/// ever; such a freeze is written as `start`/`end`.
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);

/// Parses a standard 5-field cron expression (minute hour day-of-month month day-of-week, with
/// names such as `NOV`/`FRI`, `@daily`-style nicknames and croner's `L`, `W`, `#`). A day-of-
/// month and a day-of-week both restricted fire when either matches, as in Vixie cron and
/// Argo CD. Refuses a seconds or year field and a pattern that never fires (`0 0 30 2 *`); the
/// error message is fit to follow the config path.
pub fn parse_schedule(expr: &str) -> Result<Cron, String> {
    let cron = CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(expr)
        .map_err(|e| format!("invalid cron schedule {expr:?}: {e}"))?;
    // Any pattern that fires at all does so within one 400-year Gregorian cycle of any date;
    // croner searches to the year 5000, so a failure from here means never.
    let reference = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).single();
    match reference.map(|r| cron.find_next_occurrence(&r, true)) {
        Some(Ok(_)) => Ok(cron),
        _ => Err(format!("cron schedule {expr:?} never fires")),
    }
}

/// How a window's occurrences are laid out.
#[derive(Debug, Clone)]
pub enum WindowKind {
    /// An occurrence starts at each fire time of `schedule` on the wall clock of `zone` and
    /// lasts `duration` (elapsed time).
    Recurring {
        /// The cron schedule (5 fields); boxed, it is ten times the size of `Fixed`.
        schedule: Box<Cron>,
        /// Length of each occurrence, more than 0 and at most [`MAX_DURATION`].
        duration: Duration,
        /// The zone whose wall clock the schedule reads.
        zone: Tz,
    },
    /// One occurrence, `start` (inclusive) to `end` (exclusive); empty when `end <= start`.
    Fixed {
        /// First frozen instant.
        start: DateTime<Utc>,
        /// First unfrozen instant.
        end: DateTime<Utc>,
    },
}

/// A named freeze window with its calendar and scope.
#[derive(Debug, Clone)]
pub struct Window {
    /// Unique among the config's windows; shown in refusals and status.
    pub name: String,
    /// When it is frozen.
    pub kind: WindowKind,
    /// What it freezes.
    pub scope: Scope,
}

impl Window {
    /// A one-off window from `start` (inclusive) to `end` (exclusive): a config `start`/`end`
    /// window or a manual "stop the line" freeze. One with `end <= start` is never active.
    pub fn fixed(
        name: impl Into<String>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        scope: Scope,
    ) -> Window {
        Window {
            name: name.into(),
            kind: WindowKind::Fixed { start, end },
            scope,
        }
    }

    /// A recurring window: `schedule` (see [`parse_schedule`]) read in `zone`, each
    /// occurrence lasting `duration`.
    pub fn recurring(
        name: impl Into<String>,
        schedule: Cron,
        duration: Duration,
        zone: Tz,
        scope: Scope,
    ) -> Window {
        Window {
            name: name.into(),
            kind: WindowKind::Recurring {
                schedule: Box::new(schedule),
                duration,
                zone,
            },
            scope,
        }
    }

    /// The occurrence covering `now` (`start <= now < end`) as `(start, end)`, or `None`.
    /// When several occurrences of a recurring window overlap at `now` (a duration longer than
    /// the schedule's period), the latest-starting one, which also ends last, is returned.
    pub fn occurrence_at(&self, now: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        match &self.kind {
            WindowKind::Fixed { start, end } => {
                (*start <= now && now < *end).then_some((*start, *end))
            }
            WindowKind::Recurring {
                schedule,
                duration,
                zone,
            } => {
                let fired = schedule
                    .find_previous_occurrence(&now.with_timezone(zone), true)
                    .ok()?;
                let (start, end) = span(fired, *duration)?;
                (now < end).then_some((start, end))
            }
        }
    }

    /// The first occurrence that starts strictly after `now`, as `(start, end)`, or `None`
    /// (a fixed window that has started, or a schedule with no fire before the year 5000).
    pub fn next_after(&self, now: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        match &self.kind {
            WindowKind::Fixed { start, end } => {
                (*start > now && start < end).then_some((*start, *end))
            }
            WindowKind::Recurring {
                schedule,
                duration,
                zone,
            } => {
                let fired = schedule
                    .find_next_occurrence(&now.with_timezone(zone), false)
                    .ok()?;
                span(fired, *duration)
            }
        }
    }
}

/// The occurrence that starts at `fired` and lasts `duration` of elapsed time.
fn span(fired: DateTime<Tz>, duration: Duration) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let start = fired.with_timezone(&Utc);
    let end = start.checked_add_signed(TimeDelta::from_std(duration).ok()?)?;
    Some((start, end))
}
