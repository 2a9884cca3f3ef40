'use strict'
// What a worker tells the parent about its own load, for the parent's dispatch
// (crates/core/src/pace.rs): which calls stopped holding its thread because they await, and how
// busy its event loop has been. Sent with the replies, so it costs no write of its own.

const { performance } = require('node:perf_hooks')
const { FrameKind: Kind, PACE_LEN } = require('../protocol')
const { EMPTY } = require('../frame')

const U32_MAX = 0xffffffff
/**
 * While calls await, the loop reports even without news, first after this many ms, then at
 * doubling intervals up to QUIET_MAX_MS: a parent that last saw it saturated learns that it
 * has room again (it would otherwise wait for an answer that calls awaiting forever never send).
 */
const QUIET_FIRST_MS = 10
const QUIET_MAX_MS = 1000

class PaceReporter {
  /** Calls whose synchronous part ran since the end of the previous turn. */
  #started = []
  /** Answers and awaits sent since the previous Pace: the parent counts the same ones. */
  #news = 0
  #since = performance.eventLoopUtilization()
  #isPending
  #hasPending
  #wake
  #quiet = null
  #quietMs = QUIET_FIRST_MS
  /** The quiet timer fired: report at the end of this turn even without news. */
  #quietDue = false

  /**
   * `isPending(call)`: the call has not answered and is not a stream (those are paced by credit);
   * `hasPending()`: some call has not answered; `wake()`: have frames written this turn.
   */
  constructor(isPending, hasPending, wake) {
    this.#isPending = isPending
    this.#hasPending = hasPending
    this.#wake = wake
  }

  started(call) {
    this.#started.push(call)
  }

  answered() {
    this.#news++
  }

  /**
   * Forgets the started calls that have answered already: true if one is still pending, so that
   * the end of the turn has to tell whether it awaits.
   */
  anyStartedPending() {
    if (this.#started.length === 0) return false
    if (this.#hasPending() && this.#started.some(this.#isPending)) return true
    this.#started = []
    return false
  }

  /**
   * Frames to send after the queued ones: at the end of a turn, an `Awaiting` for each call
   * started in it that is still pending (its promise waits on something), then, if any of this
   * is news, how busy the loop was since the previous report.
   */
  frames(endOfTurn, push) {
    if (endOfTurn && this.#started.length > 0) {
      for (const call of this.#started) {
        if (!this.#isPending(call)) continue
        push(Kind.Awaiting, call, EMPTY)
        this.#news++
      }
      this.#started = []
    }
    if (this.#news === 0 && !this.#quietDue) return
    this.#quietMs = this.#news === 0 ? Math.min(this.#quietMs * 2, QUIET_MAX_MS) : QUIET_FIRST_MS
    this.#news = 0
    this.#quietDue = false
    this.#watchQuiet()
    const now = performance.eventLoopUtilization()
    const { active, idle } = performance.eventLoopUtilization(now, this.#since)
    this.#since = now
    const elapsed = Math.min(U32_MAX, Math.round((active + idle) * 1000))
    const busy = Math.min(elapsed, Math.round(active * 1000))
    const payload = Buffer.allocUnsafe(PACE_LEN)
    payload.writeUInt32LE(busy, 0)
    payload.writeUInt32LE(elapsed, 4)
    push(Kind.Pace, 0, payload)
  }

  #watchQuiet() {
    if (this.#quiet !== null) clearTimeout(this.#quiet)
    this.#quiet = null
    if (!this.#hasPending()) return
    this.#quiet = setTimeout(() => {
      this.#quiet = null
      this.#quietDue = true
      this.#wake()
    }, this.#quietMs).unref()
  }
}

module.exports = { PaceReporter }
