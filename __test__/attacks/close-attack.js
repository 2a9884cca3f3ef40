'use strict'
// Ad-hoc attack on graceful close() with streams: each scenario must settle within a guard.
const invoke = require('../..')
const STREAMS = require.resolve('../fixtures/streams')
const guard = (p, ms, what) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`HANG: ${what}`)), ms).unref())])
async function drain(stream, max = Infinity) {
  const items = []
  try { for await (const i of stream) { items.push(i); if (items.length >= max) break } return { n: items.length } } catch (e) { return { n: items.length, code: e.code, msg: e.message } }
}
const scenarios = {
  async twice() {
    const pool = invoke.pool({ limit: 1, closeReadGrace: 50 })
    const s = await invoke.require(STREAMS, { pool })
    const st = await s.count(1000)
    const a = pool.close(); const b = pool.close()
    await guard(Promise.all([a, b]), 20000, 'close twice')
    return drain(st)
  },
  async forceDuring() {
    const pool = invoke.pool({ limit: 1, closeReadGrace: 100000 })
    const s = await invoke.require(STREAMS, { pool })
    const st = await s.count(1000)
    const a = pool.close()
    await new Promise((r) => setTimeout(r, 50))
    const b = pool.close({ force: true })
    await guard(Promise.all([a, b]), 20000, 'force during graceful')
    return drain(st)
  },
  async openedAfter() {
    const pool = invoke.pool({ limit: 1, closeReadGrace: 50 })
    const s = await invoke.require(STREAMS, { pool })
    const st = await s.count(1000)
    const a = pool.close()
    let after
    try { after = await s.count(10); after = await drain(after) } catch (e) { after = { code: e.code } }
    await guard(a, 20000, 'close')
    return { after, first: await drain(st) }
  },
  async slowReaderNeverCut() {
    const pool = invoke.pool({ limit: 1, closeReadGrace: 200 })
    const s = await invoke.require(STREAMS, { pool })
    const st = await s.count(300)
    const a = pool.close()
    const items = []
    for await (const i of st) { items.push(i); await new Promise((r) => setTimeout(r, 5)) }
    await guard(a, 20000, 'close')
    return { n: items.length }
  },
  async infiniteReadThenBreak() {
    const pool = invoke.pool({ limit: 1, closeReadGrace: 200 })
    const s = await invoke.require(STREAMS, { pool })
    const st = await s.tracked('/tmp/attack-dispatch-tracked')
    const a = pool.close()
    const r = await drain(st, 5000)
    await guard(a, 20000, 'close after break')
    return r
  },
  async manyUnread() {
    const pool = invoke.pool({ limit: 2, closeReadGrace: 50, cancelGrace: 200 })
    const s = await invoke.require(STREAMS, { pool })
    const sts = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 3 === 0 ? s.neverStops() : s.count(1000))))
    await guard(pool.close(), 30000, 'close many unread')
    const rs = await Promise.all(sts.map((x) => drain(x)))
    return rs.reduce((m, r) => { m[`${r.n}:${r.code}`] = (m[`${r.n}:${r.code}`] || 0) + 1; return m }, {})
  },
  async partlyRead() {
    const pool = invoke.pool({ limit: 1, closeReadGrace: 50 })
    const s = await invoke.require(STREAMS, { pool })
    const st = await s.count(1000)
    const it = st[Symbol.asyncIterator]()
    for (let i = 0; i < 10; i++) await it.next()
    await guard(pool.close(), 20000, 'close partly read')
    let n = 10; let code
    try { for (;;) { const r = await it.next(); if (r.done) break; n++ } } catch (e) { code = e.code }
    return { n, code }
  },
  async abortDuringClose() {
    const pool = invoke.pool({ limit: 1, closeReadGrace: 100000 })
    const s = await invoke.require(STREAMS, { pool })
    const ac = new AbortController()
    const st = await s({ cancelToken: ac.signal }).count(1000)
    const a = pool.close()
    setTimeout(() => ac.abort(), 30)
    await guard(a, 20000, 'close with abort')
    return drain(st)
  },
  async timeoutDuringClose() {
    const pool = invoke.pool({ limit: 1, closeReadGrace: 100000 })
    const s = await invoke.require(STREAMS, { pool })
    const st = await s({ timeout: 100 }).count(1000)
    const a = pool.close()
    await guard(a, 20000, 'close with timeout')
    return drain(st)
  },
  async returnDuringClose() {
    const pool = invoke.pool({ limit: 1, closeReadGrace: 100000 })
    const s = await invoke.require(STREAMS, { pool })
    const st = await s.count(1000)
    const a = pool.close()
    const it = st[Symbol.asyncIterator]()
    await it.next()
    await it.return()
    await guard(a, 20000, 'close after return')
    return { ok: true }
  },
  async bigGrace() {
    const out = {}
    for (const v of [2 ** 31, 2 ** 32 + 5, 2 ** 53, 1e300, NaN, 0, -0, 0.5]) {
      try {
        const pool = invoke.pool({ limit: 1, closeReadGrace: v })
        const s = await invoke.require(STREAMS, { pool })
        const st = await s.count(1000)
        const a = pool.close()
        const r = await Promise.race([a.then(() => 'closed'), new Promise((r) => setTimeout(() => r('waiting'), 300))])
        out[String(v)] = r
        await pool.close({ force: true })
        await drain(st)
      } catch (e) { out[String(v)] = e.code }
    }
    return out
  },
  async mapOverStreamsClose() {
    const pool = invoke.pool({ limit: 2, closeReadGrace: 50 })
    const s = await invoke.require(STREAMS, { pool })
    const sts = []
    for (let i = 0; i < 5; i++) sts.push(await s.count(1000))
    const c = pool.close()
    const r = await guard(Promise.all(sts.map((x, i) => drain(x, i === 0 ? Infinity : 0))), 20000, 'drains')
    await guard(c, 20000, 'close')
    return r.map((x) => x.n + ':' + x.code)
  },
}
async function main() {
  const only = process.argv.slice(2)
  for (const [name, fn] of Object.entries(scenarios)) {
    if (only.length && !only.includes(name)) continue
    const t0 = Date.now()
    try { console.log(name, JSON.stringify(await guard(fn(), 60000, name)), Date.now() - t0, 'ms') } catch (e) { console.log(name, 'ERROR', e.code, e.message) }
  }
  console.log('handles', process._getActiveHandles().length)
}
main()
