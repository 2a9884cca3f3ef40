//! How much work a worker is handed at once (adaptive dispatch). Each worker reports how busy
//! its event loop has been (`Pace`) and which calls have stopped holding its thread because they
//! await something (`Awaiting`); from those alone, with no clock of its own, the scheduler keeps
//! a worker supplied without handing it more than a few milliseconds of work ahead:
//!
//! - calls that run synchronously are balanced: a worker holds at most `allowance` of them
//!   (sent, not answered, not awaiting) — two while they are expensive (the one running and the
//!   next, so it never waits on a round trip), up to [`MAX_ALLOWANCE`] while they are cheap enough
//!   that [`BUDGET_US`] of work is many calls (small calls go in batches, not one round trip each);
//! - calls that await overlap, as many as `maxPerChild` allows, while the worker's event loop has
//!   room; once it is busy nearly all the time and its answered calls cost enough to explain it
//!   (their continuations compute), they count as held.
//!
//! - what a worker holds is costed per method: each method's cost per call is measured on its
//!   own (a report's busy time is spread over the methods that progressed in it, in proportion
//!   to what each is thought to cost), and a method not measured on that worker yet counts as
//!   expensive, so a cheap call does not size a batch of expensive ones: the calls it holds add
//!   up to at most [`BUDGET_US`] (beyond the first two, whatever they cost);
//! - calls that await and have not come back are bounded too: [`AWAIT_START`] at first, and
//!   [`GROWTH`] times as many as it had awaiting whenever one comes back, so a worker whose calls
//!   never come back (stuck on something) is not handed everything while the others work;
//! - but a bound that is all that keeps calls queued, while nothing anywhere progresses, may be
//!   what they wait on (calls that wait for a later call of their worker: a barrier, an event
//!   bus, streams opened before any is read): after [`STALL_MS`] of that, the scheduler grows the
//!   room of each worker at its bound whose loop is not saturated, [`GROWTH`]-fold
//!   ([`Pace::on_stall`]). A stuck worker among workers that work stays bounded: their progress,
//!   or their calls holding their thread, say the queue is not stalled.
//!
//! The allowance starts at [`MIN_ALLOWANCE`], grows at most [`GROWTH`]-fold per report, and
//! falls at once when calls turn out expensive. What is already sent stays sent: calls measured
//! cheap that turn out expensive (a heavy tail behind a run of cheap calls of the same workload)
//! can still pile up on one worker, at most an allowance of them. What a worker reports only
//! sizes its own share: a liar gets no more than `maxPerChild` allows, as an eager pool would.

use crate::event::{MethodId, ModuleId};
use crate::id_hash::{IdMap, IdSet};

/// Microseconds of work (at the measured cost per call) a worker may hold beyond what it runs.
pub const BUDGET_US: u64 = 4_000;
/// Calls a worker may hold however expensive they are: the running one and the next.
pub const MIN_ALLOWANCE: u32 = 2;
/// How much the allowance may grow from one report to the next: calls that await reach a
/// hundred in flight within four round trips, and a worker measured cheap once is not handed a
/// thousand calls on the strength of it.
pub const GROWTH: u32 = 4;
/// The most synchronous calls a worker holds however cheap they are.
pub const MAX_ALLOWANCE: u32 = 1024;
/// A worker whose event loop was busy at least this share (in percent) of the time has no room
/// for calls that await.
pub const SATURATED_PERCENT: u64 = 75;
/// Microseconds of reports judged together for saturation: over a shorter time a worker that
/// has plenty of room looks busy, since it was reading the calls just sent to it.
pub const SATURATION_WINDOW_US: u64 = 5_000;
/// Calls that await a worker may hold before any has come back: what a worker stuck on
/// something gets (a burst of calls that all await goes out in rounds of what came back).
pub const AWAIT_START: u32 = 32;
/// Milliseconds with calls queued only by the bound on calls that await, and no call anywhere
/// answering or saying it awaits, after which the bound grows (see the module's notes): short
/// enough that a burst of calls that all await is not held back much longer than its first
/// round takes to start, long enough that a worker's reply to the calls just sent gets back.
pub const STALL_MS: u64 = 5;
/// Queued calls that await on no worker (measured synchronous) the stall rule looks past to find
/// one that may await: higher-priority calls made steadily beside a barrier sit ahead of its
/// waiters, a few per caller waiting on its answer; beyond this many, they are a backlog that
/// moves by its workers' own progress, and the calls behind them are judged once it has.
pub const STALL_LOOKAHEAD: usize = 64;

/// Whether a worker may take one more call, and if not, what stops it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Room {
  Free,
  /// Only its bound on calls that await: a stall may grow it.
  AwaitBound,
  /// Its allowance, its budget or its saturated loop: its own progress makes room.
  Full,
}

/// A method of a loaded module, as the scheduler tells methods apart: the module's id and the
/// number the caller gave the method's name.
pub type MethodKey = (ModuleId, MethodId);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pace {
  /// Synchronous calls it may hold at once.
  allowance: u32,
  /// Busy microseconds per call that progressed (answered, or said it awaits): the latest
  /// report's if that is more, else half
  /// less than before, so one expensive batch cuts the allowance at once and cheap ones raise it
  /// back gradually. Unknown until the first report after an answer.
  cost_us: Option<u64>,
  /// Its event loop was busy most of the time over the latest window of reports.
  saturated: bool,
  /// Busy microseconds of the latest window that had answers, by method (spread as in
  /// `measure_methods`): whether its calls that await are what keeps its loop busy is judged from
  /// these (see [`Pace::is_saturated_by_awaits`]) by what is known of the methods then.
  busy_by_method: Vec<(MethodKey, u64)>,
  /// Busy and elapsed microseconds reported since the latest window closed.
  window: (u64, u64),
  /// The same by method, for the reports in it that had answers.
  window_by_method: Vec<(MethodKey, u64)>,
  /// Calls that answered or said they await since its previous report.
  answered: u32,
  /// The same, by method: what the report's busy time is spread over.
  progress: Vec<(MethodKey, u32)>,
  /// Busy microseconds per call of each method measured here, by the rule of `cost_us`.
  costs: IdMap<MethodKey, u64>,
  /// Methods whose calls have said they await here.
  awaits: IdSet<MethodKey>,
  /// Calls that await (or may: of a method that awaited here, or one not measured yet) it may
  /// hold at once.
  await_room: u32,
}

impl Default for Pace {
  fn default() -> Self {
    Pace {
      allowance: MIN_ALLOWANCE,
      cost_us: None,
      saturated: false,
      busy_by_method: Vec::new(),
      window: (0, 0),
      window_by_method: Vec::new(),
      answered: 0,
      progress: Vec::new(),
      costs: IdMap::default(),
      awaits: IdSet::default(),
      await_room: AWAIT_START,
    }
  }
}

impl Pace {
  pub fn allowance(&self) -> u32 {
    self.allowance
  }

  pub fn cost_us(&self) -> Option<u64> {
    self.cost_us
  }

  pub fn is_saturated(&self) -> bool {
    self.saturated
  }

  /// Its loop is saturated and its calls that await are what keeps it so (at least half the
  /// busy time of the latest window with answers was calls of methods that await here: they
  /// compute once they come back): its calls that await then count against its allowance, and a
  /// stall does not grow it. A worker saturated by calls measured synchronous (a steady flow of
  /// cheap ones beside a barrier) is neither: that says nothing of whether the calls that await
  /// will ever come back.
  pub fn is_saturated_by_awaits(&self) -> bool {
    if !self.saturated {
      return false;
    }
    let (of_awaits, all) = self.busy_by_method.iter().fold((0u64, 0u64), |(of_awaits, all), &(method, busy)| {
      let of_awaits = if self.awaits.contains(&method) { of_awaits.saturating_add(busy) } else { of_awaits };
      (of_awaits, all.saturating_add(busy))
    });
    all > 0 && of_awaits.saturating_mul(2) >= all
  }

  pub fn await_room(&self) -> u32 {
    self.await_room
  }

  /// What a call of `method` is thought to cost here, in microseconds: a method never measured
  /// here costs the whole budget.
  pub fn charge(&self, method: MethodKey) -> u64 {
    self.costs.get(&method).map_or(BUDGET_US, |&cost| cost.min(BUDGET_US))
  }

  /// A method call answered, or said it awaits: its synchronous part is done either way, so calls
  /// that await raise the allowance as fast as cheap synchronous ones (a call that awaits and
  /// later answers counts twice: the cost of both steps is spread over the two).
  pub fn on_progress(&mut self, method: MethodKey) {
    self.answered = self.answered.saturating_add(1);
    match self.progress.iter_mut().find(|(m, _)| *m == method) {
      Some((_, n)) => *n = n.saturating_add(1),
      None => self.progress.push((method, 1)),
    }
  }

  /// Whether a call of `method` may await here: its calls have, or it was never measured.
  pub fn may_await(&self, method: MethodKey) -> bool {
    self.judge(method).1
  }

  /// [`Pace::charge`] and [`Pace::may_await`] in one look-up (this runs for every worker each
  /// time a call is placed).
  pub fn judge(&self, method: MethodKey) -> (u64, bool) {
    match self.costs.get(&method) {
      None => (BUDGET_US, true),
      Some(&cost) => (cost.min(BUDGET_US), !self.awaits.is_empty() && self.awaits.contains(&method)),
    }
  }

  /// A call of `method` said it awaits.
  pub fn on_await(&mut self, method: MethodKey) {
    self.awaits.insert(method);
    self.on_progress(method);
  }

  /// A call that had said it awaits answered, with `awaiting` others still awaiting: the worker
  /// may hold [`GROWTH`] times that many.
  pub fn on_awaited_answer(&mut self, awaiting: usize) {
    let room = u32::try_from(awaiting.saturating_add(1)).unwrap_or(u32::MAX).saturating_mul(GROWTH);
    self.await_room = self.await_room.max(room);
  }

  /// Nothing progressed anywhere while this worker was at its bound on calls that await, and
  /// that bound holds back the calls queued: unless its loop is saturated by its calls that
  /// await ([`Pace::is_saturated_by_awaits`]: they compute, so they progress by themselves), it
  /// may hold [`GROWTH`] times as many, at most `cap` (maxPerChild; 0: no cap). True if it grew.
  /// (A verdict no answer explains is not trusted, as in [`Pace::room`]: streams waiting for
  /// their reader never answer, and their worker, idle, has no news to report after the burst
  /// that started them.)
  pub fn on_stall(&mut self, cap: u32) -> bool {
    if self.is_saturated_by_awaits() {
      return false;
    }
    let grown = self.await_room.saturating_mul(GROWTH);
    let room = if cap == 0 { grown } else { grown.min(cap.max(self.await_room)) };
    let grew = room > self.await_room;
    self.await_room = room;
    grew
  }

  /// The worker's report: busy `busy_us` of the `elapsed_us` since its previous one (the codec
  /// checked `busy_us <= elapsed_us`). True if the worker may have more room than before (then
  /// its methods may have been measured again).
  pub fn on_report(&mut self, busy_us: u32, elapsed_us: u32) -> bool {
    let before = (self.allowance, self.saturated);
    let (busy, elapsed) = (u64::from(busy_us), u64::from(elapsed_us));
    // Saturating: a liar's reports add up to no more than u64 holds.
    let window = (self.window.0.saturating_add(busy), self.window.1.saturating_add(elapsed));
    self.window = window;
    let measured = self.answered > 0;
    if measured {
      self.on_news(busy);
      self.measure_methods(busy);
    }
    if window.1 >= SATURATION_WINDOW_US {
      self.saturated = window.0.saturating_mul(100) >= window.1.saturating_mul(SATURATED_PERCENT);
      // A window without answers explains nothing: the latest one that did stays.
      if !self.window_by_method.is_empty() {
        self.busy_by_method = std::mem::take(&mut self.window_by_method);
      }
      self.window = (0, 0);
    }
    measured || self.allowance > before.0 || (before.1 && !self.saturated)
  }

  /// Spreads a report's busy time over the methods that progressed in it, in proportion to what
  /// each is thought to cost (one never measured: the whole budget), so a cheap method reported
  /// with an expensive one is not taken for expensive for long, nor the expensive one for cheap.
  /// What each method took is kept for the window's verdict on saturation.
  fn measure_methods(&mut self, busy: u64) {
    let weight =
      |costs: &IdMap<MethodKey, u64>, method| u128::from(costs.get(&method).map_or(BUDGET_US, |&c| c.max(1)));
    let total: u128 = self.progress.iter().map(|&(m, n)| weight(&self.costs, m) * u128::from(n)).sum();
    for (method, n) in std::mem::take(&mut self.progress) {
      let per_call = (u128::from(busy) * weight(&self.costs, method) / total.max(1)) as u64;
      let took = per_call.saturating_mul(u64::from(n));
      match self.window_by_method.iter_mut().find(|(m, _)| *m == method) {
        Some((_, sum)) => *sum = sum.saturating_add(took),
        None => self.window_by_method.push((method, took)),
      }
      let cost = match self.costs.get(&method) {
        None => per_call,
        Some(&old) => per_call.max(old / 2),
      };
      self.costs.insert(method, cost);
    }
  }

  fn on_news(&mut self, busy: u64) {
    let per_call = busy / u64::from(self.answered);
    self.answered = 0;
    let cost = match self.cost_us {
      None => per_call,
      Some(old) => per_call.max(old / 2),
    };
    self.cost_us = Some(cost);
    let target = (BUDGET_US / cost.max(1)).clamp(u64::from(MIN_ALLOWANCE), u64::from(MAX_ALLOWANCE)) as u32;
    self.allowance = target.min(self.allowance.saturating_mul(GROWTH));
  }

  /// Whether a worker may take one more call (`Room::Free`) or what stops it: a call costing
  /// `charge` (see [`Pace::charge`]) and which `may_await` (see [`Pace::may_await`]), when it
  /// holds `held` synchronous calls costing `held_cost` in all, among `in_flight` of which
  /// `awaiting` await or may. Calls that await count against the allowance only once the worker
  /// is saturated by them ([`Pace::is_saturated_by_awaits`]): a loop busy reading the calls just
  /// sent, starting up, or running calls measured synchronous is not full of them. A call at its
  /// bound on calls that await is `Room::AwaitBound` whatever else stops it too: the rest is lifted
  /// by the worker's own progress, the bound only by a stall.
  pub fn room(
    &self,
    held: usize,
    held_cost: impl FnOnce() -> u64,
    call: impl FnOnce() -> (u64, bool),
    awaiting: impl FnOnce() -> usize,
    in_flight: usize,
  ) -> Room {
    // The cheap tests first: this runs for every worker each time a call is placed.
    let allowance = self.allowance as usize;
    let saturated = self.is_saturated_by_awaits() && in_flight >= allowance;
    // Fewer calls in flight than its bound: that bound cannot be what stops the call. (With no
    // method awaiting here, no call is exempt from the allowance either.)
    if (saturated || (held >= allowance && self.awaits.is_empty())) && in_flight < self.await_room as usize {
      return Room::Full;
    }
    let (charge, may_await) = call();
    // A call of a method measured here that awaits holds the thread only for its synchronous
    // part: the budget bounds it, not the count of synchronous calls, or calls measured
    // synchronous at a higher priority that fill the allowance would hold it back for as long
    // as they flow. (A method never measured is charged the whole budget: it counts.)
    let counted = !may_await || charge >= BUDGET_US;
    // The bound on calls that await first: what else stops the call (calls holding the thread,
    // higher-priority calls among them) is lifted by the worker's own progress, the bound only
    // by a stall, so a call at its bound is said to be, whatever else stops it too.
    if may_await && awaiting() >= self.await_room as usize {
      Room::AwaitBound
    } else if saturated
      || (counted && held >= allowance)
      || (held >= MIN_ALLOWANCE as usize && held_cost().saturating_add(charge) > BUDGET_US)
    {
      Room::Full
    } else {
      Room::Free
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  const M: MethodKey = (1, 1);

  fn free(
    pace: &Pace,
    held: usize,
    held_cost: impl FnOnce() -> u64,
    call: impl FnOnce() -> (u64, bool),
    awaiting: impl FnOnce() -> usize,
    in_flight: usize,
  ) -> bool {
    pace.room(held, held_cost, call, awaiting, in_flight) == Room::Free
  }

  fn after(reports: &[(u32, u32, u32)]) -> Pace {
    let mut pace = Pace::default();
    for &(answered, busy, elapsed) in reports {
      for _ in 0..answered {
        pace.on_progress(M);
      }
      pace.on_report(busy, elapsed);
    }
    pace
  }

  #[test]
  fn starts_with_the_running_call_and_the_next() {
    let pace = Pace::default();
    assert!(free(&pace, 1, || BUDGET_US, || (BUDGET_US, true), || 1, 1));
    assert!(!free(&pace, 2, || 0, || (0, true), || 2, 2));
    assert!(
      free(&pace, 0, || 0, || (BUDGET_US, true), || 31, 31),
      "calls that await do not count against the allowance"
    );
    assert!(!free(&pace, 0, || 0, || (BUDGET_US, true), || 32, 32), "until a call that awaits comes back, 32 of them");
    assert!(
      free(&pace, 0, || 0, || (BUDGET_US, false), || 32, 32),
      "a call that never awaits is not held back by them"
    );
  }

  #[test]
  fn cheap_calls_raise_the_allowance_geometrically_to_the_budget() {
    // 10 µs a call: the budget is 400 calls, reached growing fourfold a report.
    let mut allowances = Vec::new();
    let mut pace = Pace::default();
    for _ in 0..10 {
      for _ in 0..pace.allowance() {
        pace.on_progress(M);
      }
      pace.on_report(10 * pace.allowance(), 11 * pace.allowance());
      allowances.push(pace.allowance());
    }
    assert_eq!(allowances, [8, 32, 128, 400, 400, 400, 400, 400, 400, 400]);
  }

  #[test]
  fn expensive_calls_bring_it_down_at_once() {
    let cheap: Vec<_> = (0..12).map(|_| (100, 100, 200)).collect();
    let mut pace = after(&cheap);
    assert_eq!(pace.allowance(), MAX_ALLOWANCE);
    // 50 ms calls: the average follows within a few reports, and the allowance with it.
    for _ in 0..3 {
      pace.on_progress(M);
      pace.on_report(50_000, 50_000);
    }
    assert_eq!(pace.allowance(), MIN_ALLOWANCE);
  }

  /// A worker whose calls of `M` awaited, then reported busy `busy` of `elapsed`.
  fn awaited_then(busy: u32, elapsed: u32) -> Pace {
    let mut pace = Pace::default();
    pace.on_await(M);
    pace.on_report(busy, elapsed);
    pace
  }

  #[test]
  fn a_saturated_worker_counts_calls_that_await() {
    let pace = awaited_then(9_000, 10_000);
    assert!(pace.is_saturated_by_awaits());
    assert!(!free(&pace, 0, || 0, || (0, true), || 2, 2), "two calls in flight are enough for a busy worker");
    let ticking = after(&[(1, 9_000, 10_000)]);
    assert!(ticking.is_saturated() && !ticking.is_saturated_by_awaits());
    assert!(
      free(&ticking, 0, || 0, || (0, true), || 20, 20),
      "busy with calls that never await: those that await are not what fills it"
    );
    let starting = after(&[(0, 9_000, 10_000)]);
    assert!(starting.is_saturated());
    assert!(free(&starting, 0, || 0, || (0, true), || 20, 20), "busy, but no answered call says its calls cause it");
    let idle = after(&[(1, 100, 10_000)]);
    assert!(free(&idle, 0, || 0, || (0, true), || 20, 20));
  }

  #[test]
  fn a_report_without_answers_changes_only_saturation() {
    let pace = after(&[(0, 10_000, 10_000)]);
    assert_eq!((pace.allowance(), pace.cost_us(), pace.is_saturated()), (MIN_ALLOWANCE, None, true));
    assert_eq!(pace.charge(M), BUDGET_US, "a method never measured costs the budget");
  }

  #[test]
  fn saturation_is_judged_over_a_window_not_one_busy_moment() {
    // Reading a burst of calls keeps the loop busy for a moment: not a sign it has no room.
    let mut pace = after(&[(0, 300, 300), (0, 200, 200)]);
    assert!(!pace.is_saturated());
    pace.on_report(100, 4_600);
    assert!(!pace.is_saturated(), "600 µs busy of 5,100");
    pace.on_report(4_000, 4_000);
    pace.on_report(1_000, 1_100);
    assert!(pace.is_saturated(), "5,000 busy of 5,100");
  }

  #[test]
  fn each_method_is_costed_on_its_own_and_an_unmeasured_one_is_expensive() {
    const CHEAP: MethodKey = (1, 1);
    const HEAVY: MethodKey = (1, 2);
    let mut pace = Pace::default();
    pace.on_progress(CHEAP);
    pace.on_report(5, 10);
    assert_eq!(pace.charge(CHEAP), 5);
    assert_eq!(pace.charge(HEAVY), BUDGET_US, "the cheap call says nothing of another method");
    // Both in one report: the cheap one keeps its cost, the heavy one takes the rest.
    pace.on_progress(CHEAP);
    pace.on_progress(HEAVY);
    pace.on_report(3_005, 4_000);
    assert!(pace.charge(HEAVY) >= 2_900, "{}", pace.charge(HEAVY));
    assert!(pace.charge(CHEAP) <= 10, "{}", pace.charge(CHEAP));
    // Holding two calls of the cheap one, a third fits the budget; of the heavy one, none does.
    assert!(free(&pace, 2, || 10, || (pace.charge(CHEAP), false), || 0, 2) || pace.allowance() <= 2);
    assert!(!free(&pace, 2, || 2 * pace.charge(HEAVY), || (pace.charge(HEAVY), false), || 0, 2));
  }

  #[test]
  fn calls_that_await_are_bounded_until_they_come_back() {
    let mut pace = Pace::default();
    assert!(!free(&pace, 0, || 0, || (0, true), || AWAIT_START as usize, AWAIT_START as usize));
    pace.on_awaited_answer(AWAIT_START as usize - 1);
    assert_eq!(pace.await_room(), AWAIT_START * GROWTH);
    pace.on_awaited_answer(3);
    assert_eq!(pace.await_room(), AWAIT_START * GROWTH, "it never shrinks");
  }

  #[test]
  fn only_the_bound_on_calls_that_await_is_a_stall_s_to_grow() {
    let pace = Pace::default();
    // Of a method never measured here: charged the whole budget.
    let room = |held, awaiting| pace.room(held, || 0, || (BUDGET_US, true), || awaiting, held + awaiting);
    assert_eq!(room(0, 32), Room::AwaitBound);
    assert_eq!(room(2, 30), Room::Full, "its allowance: its own calls make room as they run");
    assert_eq!(room(2, 32), Room::AwaitBound, "at its bound, whatever else stops it too");
    assert_eq!(
      pace.room(2, || 0, || (10, true), || 30, 32),
      Room::Free,
      "of a method measured here that awaits: it holds the thread only for its synchronous part"
    );
    assert_eq!(room(0, 31), Room::Free);
    assert_eq!(pace.room(0, || 0, || (0, false), || 32, 32), Room::Free, "a call that never awaits");
  }

  #[test]
  fn a_stall_grows_the_bound_fourfold_up_to_max_per_child_unless_the_loop_is_saturated() {
    let mut pace = Pace::default();
    assert!(pace.on_stall(0));
    assert_eq!(pace.await_room(), AWAIT_START * GROWTH);
    assert!(pace.on_stall(200));
    assert_eq!(pace.await_room(), 200, "at most maxPerChild");
    assert!(!pace.on_stall(200));
    assert_eq!(pace.await_room(), 200);
    let mut busy = awaited_then(9_000, 10_000);
    assert!(busy.is_saturated());
    assert!(!busy.on_stall(0), "its calls that await compute: they progress by themselves");
    assert_eq!(busy.await_room(), AWAIT_START);
    let mut ticking = after(&[(1, 9_000, 10_000)]);
    assert!(ticking.on_stall(0), "saturated by calls measured synchronous, which say nothing of those that await");
    let mut starting = after(&[(0, 9_000, 10_000)]);
    assert!(starting.is_saturated());
    assert!(starting.on_stall(0), "busy, but no answered call says its calls cause it");
    let mut huge = Pace { await_room: u32::MAX / 2, ..Pace::default() };
    assert!(huge.on_stall(0));
    assert_eq!(huge.await_room(), u32::MAX, "saturating");
  }
}
