//! The ramp state machine: which step of a [`RampPlan`] a route's canary weight is on, whether
//! the ramp is running, paused, done or stopped, and when the next step is due. Operator
//! actions go through [`act`], the periodic advance through [`tick`] and a guard breach
//! through [`breach`]; each returns the new state (and the weight to apply) without touching
//! anything. Time is wall-clock milliseconds since the Unix epoch, because the state is
//! persisted and shared between replicas.

use super::{RampPlan, Weight};
use serde::{Deserialize, Serialize};

/// Where a ramp stands (persisted, shared between replicas).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RampState {
    /// Index into `plan.steps` of the weight now applied.
    pub step: usize,
    /// Running, paused, done or stopped.
    pub status: RampStatus,
    /// When the next step is due (ms since the Unix epoch); meaningful only while running.
    pub next_at_ms: u64,
}

/// The phase of a ramp; JSON `{"state": "running"}`, `{"state": "paused", "remaining_ms": …}`,
/// `{"state": "done"}`, `{"state": "stopped", "reason": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RampStatus {
    /// Stepping up at `next_at_ms`.
    Running,
    /// Held by the operator; the next step is due `remaining_ms` after resuming.
    Paused {
        /// Time left until the next step when the ramp was paused.
        remaining_ms: u64,
    },
    /// The last step is applied.
    Done,
    /// Stopped at a step by the operator or a guard breach.
    Stopped {
        /// Why (`stopped by operator`, `guard breach: <cause>`).
        reason: String,
    },
}

impl RampStatus {
    /// `running`, `paused`, `done` or `stopped`.
    pub fn as_str(&self) -> &'static str {
        match self {
            RampStatus::Running => "running",
            RampStatus::Paused { .. } => "paused",
            RampStatus::Done => "done",
            RampStatus::Stopped { .. } => "stopped",
        }
    }
}

/// An operator's ramp command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RampAction {
    /// Begin stepping from the first step above the current weight.
    Start,
    /// Hold the current step, keeping the time left until the next.
    Pause,
    /// Continue a paused ramp with the time it had left.
    Resume,
    /// End the ramp, keeping the current weight.
    Stop,
}

impl RampAction {
    /// `start`, `pause`, `resume` or `stop` (exact, lowercase); anything else is `None`.
    pub fn parse(s: &str) -> Option<RampAction> {
        match s {
            "start" => Some(RampAction::Start),
            "pause" => Some(RampAction::Pause),
            "resume" => Some(RampAction::Resume),
            "stop" => Some(RampAction::Stop),
            _ => None,
        }
    }
}

/// Why an operator's action does not apply. The `&'static str` is the ramp's current status
/// ([`RampStatus::as_str`], or `not started` when there is no state).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RampError {
    /// `start` while a ramp is running or paused.
    #[error("a ramp is already in progress ({0}); stop it first")]
    AlreadyRunning(&'static str),
    /// `pause` when not running, or `stop` when neither running nor paused.
    #[error("no ramp is running (ramp is {0})")]
    NotRunning(&'static str),
    /// `resume` when not paused.
    #[error("the ramp is not paused (ramp is {0})")]
    NotPaused(&'static str),
    /// `start` when no step of the plan is above the current weight.
    #[error("the weight is already {current} %, at or above the last ramp step")]
    NothingToRamp {
        /// The weight the ramp would have started from.
        current: Weight,
    },
}

const NOT_STARTED: &str = "not started";

/// Applies an operator's action to the ramp (`state` is `None` before the first start) with
/// the route's `current` weight; returns the new state and the weight to apply.
/// - `Start` (when nothing is in progress, including after done or stopped) applies the first
///   step strictly above `current`, due to step again at `now_ms + every`; if that is the
///   last step the ramp is `Done` at once. No step above `current` is `NothingToRamp`.
/// - `Pause` (running only) keeps the time left to the next step (0 if overdue).
/// - `Resume` (paused only) makes the next step due that long after `now_ms`.
/// - `Stop` (running or paused) stops at the current step: `stopped by operator`.
///
/// Only `Start` changes the weight; the others return `current`.
pub fn act(
    plan: &RampPlan,
    state: Option<&RampState>,
    action: RampAction,
    current: Weight,
    now_ms: u64,
) -> Result<(RampState, Weight), RampError> {
    let status = state.map_or(NOT_STARTED, |s| s.status.as_str());
    let next = match (action, state) {
        (RampAction::Start, _) => return start(plan, state, current, now_ms),
        (RampAction::Pause, Some(s)) if s.status == RampStatus::Running => {
            let remaining_ms = s.next_at_ms.saturating_sub(now_ms);
            with_status(s, RampStatus::Paused { remaining_ms })
        }
        (RampAction::Pause, _) => return Err(RampError::NotRunning(status)),
        (RampAction::Resume, Some(s)) => match s.status {
            RampStatus::Paused { remaining_ms } => RampState {
                step: s.step,
                status: RampStatus::Running,
                next_at_ms: now_ms.saturating_add(remaining_ms),
            },
            _ => return Err(RampError::NotPaused(status)),
        },
        (RampAction::Resume, None) => return Err(RampError::NotPaused(status)),
        (RampAction::Stop, Some(s)) if in_progress(&s.status) => {
            let reason = "stopped by operator".to_owned();
            with_status(s, RampStatus::Stopped { reason })
        }
        (RampAction::Stop, _) => return Err(RampError::NotRunning(status)),
    };
    Ok((next, current))
}

/// The periodic advance: only while running, due (`now_ms >= next_at_ms`), the guard is
/// healthy and the route is not frozen, applies the next step (`Done` if it is the last) and
/// makes the following one due at `now_ms + every`. A late tick advances one step only.
/// `None` when nothing changes (also for an empty plan).
pub fn tick(
    plan: &RampPlan,
    state: &RampState,
    now_ms: u64,
    guard_ok: bool,
    frozen: bool,
) -> Option<(RampState, Weight)> {
    if state.status != RampStatus::Running || now_ms < state.next_at_ms || !guard_ok || frozen {
        return None;
    }
    let next = state.step + 1;
    match plan.steps.get(next) {
        Some(w) => Some((applied(plan, next, now_ms), *w)),
        // Running without a next step (the plan changed under a persisted state): finish.
        None => {
            let w = plan.steps.get(state.step).or(plan.steps.last())?;
            Some((with_status(state, RampStatus::Done), *w))
        }
    }
}

/// A guard breach stops the ramp whatever its status: `guard breach: <cause>`. The caller
/// sets the weight to 0.
pub fn breach(state: &RampState, cause: &str) -> RampState {
    let reason = format!("guard breach: {cause}");
    with_status(state, RampStatus::Stopped { reason })
}

fn with_status(state: &RampState, status: RampStatus) -> RampState {
    RampState {
        step: state.step,
        status,
        next_at_ms: state.next_at_ms,
    }
}

fn in_progress(s: &RampStatus) -> bool {
    matches!(s, RampStatus::Running | RampStatus::Paused { .. })
}

fn start(
    plan: &RampPlan,
    state: Option<&RampState>,
    current: Weight,
    now_ms: u64,
) -> Result<(RampState, Weight), RampError> {
    if let Some(s) = state.filter(|s| in_progress(&s.status)) {
        return Err(RampError::AlreadyRunning(s.status.as_str()));
    }
    let mut steps = plan.steps.iter().enumerate();
    let (step, weight) = steps
        .find(|(_, w)| **w > current)
        .ok_or(RampError::NothingToRamp { current })?;
    Ok((applied(plan, step, now_ms), *weight))
}

/// The state right after applying `step` at `now_ms`.
fn applied(plan: &RampPlan, step: usize, now_ms: u64) -> RampState {
    let every_ms = u64::try_from(plan.every.as_millis()).unwrap_or(u64::MAX);
    let last = step + 1 >= plan.steps.len();
    let status = if last {
        RampStatus::Done
    } else {
        RampStatus::Running
    };
    let next_at_ms = now_ms.saturating_add(every_ms);
    RampState {
        step,
        status,
        next_at_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use RampAction::*;
    use RampError as E;
    use RampStatus::{Done, Paused, Running};

    const T0: u64 = 1_700_000_000_000;
    const MIN: u64 = 60_000;

    fn w(pct: u16) -> Weight {
        Weight::from_basis_points(pct * 100)
    }

    fn plan() -> RampPlan {
        let steps = [5, 10, 25, 50, 100].map(w).to_vec();
        RampPlan {
            steps,
            every: Duration::from_secs(15 * 60),
        }
    }

    fn state(step: usize, status: RampStatus) -> RampState {
        RampState {
            step,
            status,
            next_at_ms: T0,
        }
    }

    fn stopped(reason: &str) -> RampStatus {
        RampStatus::Stopped {
            reason: reason.to_owned(),
        }
    }

    fn run(s: Option<&RampState>, a: RampAction, cur: Weight, now: u64) -> (RampState, Weight) {
        act(&plan(), s, a, cur, now).expect("applies")
    }

    /// A tick with a healthy guard on an unfrozen route.
    fn due(s: &RampState, now: u64) -> Option<(RampState, Weight)> {
        tick(&plan(), s, now, true, false)
    }

    #[test]
    fn full_ramp_walks_step_by_step_to_done() {
        let (mut s, weight) = run(None, Start, Weight::ZERO, T0);
        assert_eq!((s.step, weight, s.next_at_ms), (0, w(5), T0 + 15 * MIN));
        // (ms after start, weight applied by this tick, status after)
        let walk = [
            (15 * MIN - 1, None, "running"),
            (15 * MIN, Some(10), "running"),
            (30 * MIN - 1, None, "running"),
            (30 * MIN, Some(25), "running"),
            (45 * MIN, Some(50), "running"),
            (60 * MIN, Some(100), "done"),
            (75 * MIN, None, "done"),
            (600 * MIN, None, "done"),
        ];
        for (at, want, status) in walk {
            let got = due(&s, T0 + at);
            assert_eq!(got.as_ref().map(|g| g.1), want.map(w), "at {at}");
            if let Some((next, _)) = got {
                assert_eq!(next.next_at_ms, T0 + at + 15 * MIN);
                s = next;
            }
            assert_eq!(s.status.as_str(), status, "at {at}");
        }
        assert_eq!(s.step, 4);
    }

    #[test]
    fn late_tick_advances_one_step_only() {
        let (s, _) = run(None, Start, Weight::ZERO, T0);
        let late = T0 + 180 * MIN;
        let (s, weight) = due(&s, late).expect("due");
        assert_eq!((s.step, weight, s.next_at_ms), (1, w(10), late + 15 * MIN));
        assert_eq!(due(&s, late), None);
    }

    #[test]
    fn failing_guard_or_freeze_holds_the_step() {
        let (s, _) = run(None, Start, Weight::ZERO, T0);
        let at = s.next_at_ms;
        for (guard_ok, frozen) in [(false, false), (true, true), (false, true)] {
            for now in [at, at + 60 * MIN] {
                assert_eq!(tick(&plan(), &s, now, guard_ok, frozen), None);
            }
        }
        let (s, weight) = due(&s, at + 61 * MIN).expect("held, then due");
        assert_eq!((s.step, weight), (1, w(10)));
    }

    #[test]
    fn pause_then_resume_keeps_the_remaining_time() {
        let (s, _) = run(None, Start, Weight::ZERO, T0);
        let (s, weight) = run(Some(&s), Pause, w(5), T0 + 10 * MIN);
        let paused = Paused {
            remaining_ms: 5 * MIN,
        };
        assert_eq!((&s.status, weight), (&paused, w(5)));
        assert_eq!(due(&s, T0 + 60 * MIN), None);
        let back = T0 + 120 * MIN;
        let (s, weight) = run(Some(&s), Resume, w(5), back);
        assert_eq!((s.next_at_ms, weight), (back + 5 * MIN, w(5)));
        assert_eq!(s.status, Running);
        assert_eq!(due(&s, back + 5 * MIN - 1), None);
        let (s, weight) = due(&s, back + 5 * MIN).expect("due");
        assert_eq!((s.step, weight), (1, w(10)));
    }

    #[test]
    fn stop_holds_the_weight() {
        let (s, _) = run(None, Start, Weight::ZERO, T0);
        let (s, _) = due(&s, T0 + 15 * MIN).expect("due");
        let (s, _) = due(&s, T0 + 30 * MIN).expect("due");
        let (s, weight) = run(Some(&s), Stop, w(25), T0 + 31 * MIN);
        assert_eq!((s.step, weight), (2, w(25)));
        assert_eq!(s.status, stopped("stopped by operator"));
        assert_eq!(due(&s, T0 + 600 * MIN), None);
        let paused = state(1, Paused { remaining_ms: 7 });
        let (s, weight) = run(Some(&paused), Stop, w(10), T0);
        assert_eq!((s.status.as_str(), weight), ("stopped", w(10)));
    }

    #[test]
    fn start_begins_strictly_above_the_current_weight() {
        // (current basis points, first step index, weight applied, status)
        let cases = [
            (0, 0, 5, "running"),
            (700, 1, 10, "running"),
            (1000, 2, 25, "running"),
            (1200, 2, 25, "running"),
            (5000, 4, 100, "done"),
        ];
        for (bp, step, pct, status) in cases {
            let (s, weight) = run(None, Start, Weight::from_basis_points(bp), T0);
            let got = (s.step, weight, s.status.as_str());
            assert_eq!(got, (step, w(pct), status), "{bp}");
        }
        for status in [Done, stopped("x")] {
            let (s, weight) = run(Some(&state(1, status)), Start, w(10), T0);
            assert_eq!((s.step, weight, s.status), (2, w(25), Running));
        }
        let full = Weight::FULL;
        let err = act(&plan(), None, Start, full, T0);
        assert_eq!(err, Err(E::NothingToRamp { current: full }));
        let empty = RampPlan {
            steps: vec![],
            every: Duration::from_secs(60),
        };
        let zero = Weight::ZERO;
        let err = act(&empty, None, Start, zero, T0);
        assert_eq!(err, Err(E::NothingToRamp { current: zero }));
        assert_eq!(tick(&empty, &state(0, Running), T0, true, false), None);
    }

    #[test]
    fn actions_that_do_not_apply() {
        let p = || Some(Paused { remaining_ms: 1 });
        let x = || Some(stopped("x"));
        let cases = [
            (None, Pause, E::NotRunning("not started")),
            (None, Resume, E::NotPaused("not started")),
            (None, Stop, E::NotRunning("not started")),
            (Some(Running), Start, E::AlreadyRunning("running")),
            (Some(Running), Resume, E::NotPaused("running")),
            (p(), Start, E::AlreadyRunning("paused")),
            (p(), Pause, E::NotRunning("paused")),
            (Some(Done), Pause, E::NotRunning("done")),
            (Some(Done), Stop, E::NotRunning("done")),
            (x(), Resume, E::NotPaused("stopped")),
            (x(), Stop, E::NotRunning("stopped")),
        ];
        for (status, action, want) in cases {
            let s = status.map(|st| state(1, st));
            let got = act(&plan(), s.as_ref(), action, w(10), T0);
            assert_eq!(got, Err(want), "{action:?} on {s:?}");
        }
        let msg = E::AlreadyRunning("paused").to_string();
        assert_eq!(msg, "a ramp is already in progress (paused); stop it first");
        let msg = E::NothingToRamp { current: w(100) }.to_string();
        let want = "the weight is already 100 %, at or above the last ramp step";
        assert_eq!(msg, want);
    }

    #[test]
    fn breach_stops_the_ramp() {
        let (s, _) = run(None, Start, Weight::ZERO, T0);
        let s = breach(&s, "error_rate");
        assert_eq!(s.status, stopped("guard breach: error_rate"));
        assert_eq!(s.step, 0);
        assert_eq!(due(&s, T0 + 600 * MIN), None);
    }

    #[test]
    fn actions_parse_exactly() {
        let names = ["start", "pause", "resume", "stop"];
        for (name, action) in names.into_iter().zip([Start, Pause, Resume, Stop]) {
            assert_eq!(RampAction::parse(name), Some(action));
        }
        for bad in ["Start", " stop", "stop ", ""] {
            assert_eq!(RampAction::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn state_round_trips_through_json() {
        let paused = Paused { remaining_ms: 5 };
        let cases = [
            (Running, r#"{"state":"running"}"#),
            (paused, r#"{"state":"paused","remaining_ms":5}"#),
            (Done, r#"{"state":"done"}"#),
            (stopped("x"), r#"{"state":"stopped","reason":"x"}"#),
        ];
        for (status, json) in cases {
            let s = state(3, status);
            let text = serde_json::to_string(&s).expect("serializes");
            let want = format!(r#"{{"step":3,"status":{json},"next_at_ms":{T0}}}"#);
            assert_eq!(text, want);
            let back: RampState = serde_json::from_str(&text).expect("parses");
            assert_eq!(back, s);
        }
    }
}
