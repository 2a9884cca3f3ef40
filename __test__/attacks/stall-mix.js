'use strict'
// Ad-hoc: barriers on one worker with cancels and timeouts at random points, maxPerChild set or
// not, eager or adaptive; every call must settle, with the count or a coded error.
const fc = require('fast-check')
const invoke = require('../..')
const BARRIER = require.resolve('../fixtures/busy-barrier')
const guard = (p, ms, what) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`HANG: ${what}`)), ms).unref())])
async function run({ size, extra, dispatch, fates, queueRoom }) {
  // A queue too short for the barrier refuses its opener: the waiters then wait forever, eager or not.
  const maxQueue = queueRoom === undefined ? undefined : size + queueRoom
  // maxPerChild caps what one worker holds: below the barrier plus its opener, eager dispatch hangs too.
  const maxPerChild = extra < 0 ? 0 : size + extra
  const pool = invoke.pool({ limit: 1, minimum: 1, maxPerChild, dispatch, maxQueue, onError: () => {} })
  try {
    const mod = await invoke.require(BARRIER, { pool })
    const aborts = []
    const waits = Array.from({ length: size }, (_, i) => {
      const fate = fates[i % fates.length]
      if (fate.kind === 'timeout') return mod({ timeout: fate.ms }).wait()
      if (fate.kind === 'abort') {
        const ac = new AbortController()
        aborts.push([fate.ms, ac])
        return mod({ cancelToken: ac.signal }).wait()
      }
      return mod.wait()
    })
    for (const [ms, ac] of aborts) setTimeout(() => ac.abort(), ms)
    const open = mod.open()
    const results = await guard(Promise.allSettled([...waits, open]), 30000, `size ${size} mpc ${maxPerChild} ${dispatch}`)
    const bad = results.filter((r) => r.status === 'rejected' && !r.reason?.code)
    const codes = {}
    for (const r of results) { const k = r.status === 'fulfilled' ? 'ok' : r.reason.code; codes[k] = (codes[k] || 0) + 1 }
    if (bad.length) throw new Error(`uncoded: ${bad[0].reason}`)
    return codes
  } finally {
    await guard(pool.close({ force: true }), 20000, 'close')
  }
}
const plan = fc.record({
  size: fc.oneof(fc.constantFrom(31, 32, 33, 129, 130), fc.integer({ min: 1, max: 300 })),
  extra: fc.constantFrom(-1, -1, 1, 5, 1000),
  dispatch: fc.constantFrom('adaptive', 'adaptive', 'eager'),
  queueRoom: fc.constantFrom(undefined, undefined, 1, 100),
  fates: fc.array(fc.oneof(fc.record({ kind: fc.constant('plain') }), fc.record({ kind: fc.constantFrom('timeout', 'abort'), ms: fc.integer({ min: 0, max: 40 }) })), { minLength: 1, maxLength: 5 }),
})
fc.assert(fc.asyncProperty(plan, async (p) => {
  const codes = await run(p)
  if (process.env.V) console.log(JSON.stringify({ ...p, fates: p.fates.length }), JSON.stringify(codes))
}), { numRuns: Number(process.env.RUNS || 30), verbose: true }).then(() => console.log('all settled'), (e) => { console.log(String(e.message).slice(0, 3000)); process.exitCode = 1 })
