'use strict'
// Measuring loops and the statistics the report uses.

/**
 * Steady-state throughput with `inflight` calls outstanding: every completion issues the next
 * call. The clock starts once the first `inflight` calls have come back (the window has turned
 * over once), counts completions for `ms`, then stops issuing and lets the rest drain untimed.
 * Resolves to completed calls per second.
 */
function throughput(contender, makeArg, check, inflight, ms) {
  return withWatchdog(contender, ms, () =>
    new Promise((resolve, reject) => {
      const bail = (err) => {
        stopped = true
        reject(err)
      }
      let active = 0
      let done = 0
      let seq = 0
      let stopped = false
      let t0 = 0
      let base = 0
      let deadline = Infinity
      let rate = 0
      const launch = () => {
        const arg = makeArg(seq++)
        active++
        contender.call(arg).then((result) => onDone(result, arg), bail)
      }
      const onDone = (result, arg) => {
        active--
        done++
        if (!check(result, arg)) return bail(new Error(`${contender.label}: wrong echo`))
        if (!stopped) {
          if (done === inflight) {
            t0 = performance.now()
            base = done
            deadline = t0 + ms
          } else if (done > inflight) {
            const now = performance.now()
            if (now >= deadline) {
              rate = ((done - base) * 1000) / (now - t0)
              stopped = true
            }
          }
          if (!stopped) launch()
        }
        if (stopped && active === 0) resolve(rate)
      }
      for (let i = 0; i < inflight; i++) launch()
    }),
  )
}

/**
 * One call at a time for `ms`; resolves to the sorted round-trip times in microseconds.
 */
function latency(contender, makeArg, check, ms) {
  return withWatchdog(contender, ms, async () => {
    const samples = []
    const end = performance.now() + ms
    let seq = 0
    for (;;) {
      const arg = makeArg(seq++)
      const t = performance.now()
      const result = await contender.call(arg)
      const now = performance.now()
      samples.push((now - t) * 1000)
      if (!check(result, arg)) throw new Error(`${contender.label}: wrong echo`)
      if (now >= end) break
    }
    return samples.sort((x, y) => x - y)
  })
}

/** A contender that stops answering fails the run instead of hanging it. */
function withWatchdog(contender, ms, body) {
  let timer
  const limit = Math.max(15000, ms * 20)
  const stalled = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${contender.label}: no progress for ${limit} ms`)), limit)
  })
  return Promise.race([body(), stalled]).finally(() => clearTimeout(timer))
}

function median(values) {
  const s = [...values].sort((x, y) => x - y)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** Nearest-rank percentile of an already sorted array. */
function percentile(sorted, p) {
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]
}

module.exports = { throughput, latency, median, percentile }
