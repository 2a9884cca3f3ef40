'use strict'
// Running fast-check properties against real workers. INVOKE_FUZZ_RUNS=n runs each property n
// times where `npm test` runs 300 (the defaults keep it short; a property whose cases are costly
// runs proportionally fewer); INVOKE_FUZZ_SEED and INVOKE_FUZZ_PATH replay a failure, as its
// message says.

const fc = require('fast-check')
const { show, valueDifference } = require('./same-value')

const RUNS = Number(process.env.INVOKE_FUZZ_RUNS) || undefined
const SEED = process.env.INVOKE_FUZZ_SEED === undefined ? undefined : Number(process.env.INVOKE_FUZZ_SEED)
const PATH = process.env.INVOKE_FUZZ_PATH

/**
 * Checks `property` (an async function of a generated value returning null, or what is wrong)
 * on `runs` values (scaled by INVOKE_FUZZ_RUNS), each allowed `msPerRun` on a loaded machine. A
 * failure throws with the seed and path that replay it, and what went wrong with the smallest
 * value found.
 */
async function checkProperty(t, arbitrary, property, { runs, msPerRun = 200 }) {
  const numRuns = RUNS === undefined ? runs : Math.max(1, Math.round((runs * RUNS) / 300))
  t.timeout(60_000 + numRuns * msPerRun)
  const details = await fc.check(
    fc.asyncProperty(arbitrary, async (value) => {
      const wrong = await property(value)
      if (wrong) throw new Error(wrong)
    }),
    { numRuns, seed: SEED, path: PATH, endOnFailure: SEED !== undefined },
  )
  if (!details.failed) {
    t.pass(`${details.numRuns} runs`)
    return
  }
  const replay = `INVOKE_FUZZ_SEED=${details.seed} INVOKE_FUZZ_PATH=${details.counterexamplePath}`
  const why = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)
  throw new Error(
    `property failed after ${details.numRuns} runs, seed ${details.seed}; replay: ${replay}\n` +
      `  ${why}\n  value: ${describe(details.counterexample?.[0])}`,
  )
}

function describe(value) {
  try {
    const text = fc.stringify(value)
    return text.length > 2000 ? `${text.slice(0, 2000)}… (${text.length} characters)` : text
  } catch {
    return show(value)
  }
}

/** `promise`, or a rejection saying what did not settle within `ms` (so a hang fails with a seed). */
function within(promise, ms, what) {
  let timer
  const bound = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)
  })
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer))
}

/** How a promise settled: `{value}` or `{error}`. */
function outcome(promise) {
  return promise.then(
    (value) => ({ value }),
    (error) => ({ error }),
  )
}

/** What is wrong with `got` (an outcome) if it should have resolved to a copy of `sent`, or null. */
function resolvedTo(got, sent, what) {
  if ('error' in got) return `${what} rejected: ${got.error?.stack ?? got.error}`
  const wrong = valueDifference(got.value, sent)
  return wrong && `${what}: ${wrong}`
}

module.exports = { checkProperty, within, outcome, resolvedTo }
