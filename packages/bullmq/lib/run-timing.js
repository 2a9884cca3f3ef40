'use strict'
// A traced remote call's timing, for its message on `invoke-parallel:call` (lib/tracing.js in
// invoke-parallel): what a local pool learns from its worker, the remote pool learns from the
// queue's events.

/** What a traced call's timing starts as, when it is submitted. */
function runTiming(trace) {
  return { trace, submitted: performance.now(), started: null, runs: 0 }
}

/** A host started the call's job (a first run, or a run again after a death or a delay). */
function started(timing) {
  timing.started ??= performance.now()
  timing.runs++
}

/**
 * A traced call's queue wait (until a host first started it), run time (from then on) and runs,
 * into its message on `invoke-parallel:call` before it settles. A subscriber that froze the
 * message loses these fields, never the call.
 */
function describeRun({ trace, submitted, started: startedAt, runs }) {
  const now = performance.now()
  const fields =
    startedAt === null ? { waitMs: now - submitted } : { waitMs: startedAt - submitted, runMs: now - startedAt, attempt: runs }
  for (const [key, value] of Object.entries(fields)) {
    try {
      trace[key] = value
    } catch {}
  }
}

module.exports = { runTiming, started, describeRun }
