const invoke = require('../..')
const STREAMS = require.resolve('../fixtures/streams')
const guard = (p, ms, what) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`HANG: ${what}`)), ms).unref())])
async function drain(stream) { let n = 0; try { for await (const _ of stream) n++; return { n } } catch (e) { return { n, code: e.code } } }
async function main() {
  {
    const pool = invoke.pool({ limit: 1, maxPerChild: 1, closeReadGrace: 50 })
    const s = await invoke.require(STREAMS, { pool })
    const first = s.count(1000)   // not awaited
    const queued = s.count(1000)  // queued behind it (maxPerChild 1)
    const closed = pool.close()
    const [a, b] = await guard(Promise.all([first, queued]), 20000, 'streams made before close')
    await guard(closed, 20000, 'close')
    console.log('queued-before-close', JSON.stringify(await drain(a)), JSON.stringify(await drain(b)))
  }
  {
    const pool = invoke.pool({ limit: 2, closeReadGrace: 50 })
    const s = await invoke.require(STREAMS, { pool })
    const made = Array.from({ length: 100 }, () => s.count(100))
    const closed = pool.close()
    const got = await guard(Promise.allSettled(made), 30000, '100 streams')
    await guard(closed, 30000, 'close 100')
    const rs = await Promise.all(got.map((g) => (g.status === 'fulfilled' ? drain(g.value) : { code: g.reason.code })))
    const m = {}; for (const r of rs) m[`${r.n}:${r.code}`] = (m[`${r.n}:${r.code}`] || 0) + 1
    console.log('100 made before close', JSON.stringify(m))
  }
  {
    const pool = invoke.pool({ limit: 1, closeReadGrace: 50 })
    const s = await invoke.require(STREAMS, { pool })
    const st = await s.failAfter(70)
    const closed = pool.close()
    await guard(closed, 20000, 'close failAfter')
    console.log('failAfter unread', JSON.stringify(await drain(st)))
  }
  console.log('handles', process._getActiveHandles().length)
}
main()
