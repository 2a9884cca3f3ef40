const invoke = require('../..')
const M = require.resolve('./stream-dies')
const guard = (p, ms, what) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`HANG: ${what}`)), ms).unref())])
async function drain(stream, slow) { let n = 0; try { for await (const _ of stream) { n++; if (slow) await new Promise((r) => setTimeout(r, slow)) } return { n } } catch (e) { return { n, code: e.code } } }
async function main() {
  for (const [name, make, slow] of [['dies-read', (m) => m.diesAfter(10), 0], ['dies-unread', (m) => m.diesAfter(100), null], ['floods-read', (m) => m.floods(), 0], ['floods-unread', (m) => m.floods(), null]]) {
    const pool = invoke.pool({ limit: 1, closeReadGrace: 100, onError: () => {} })
    const m = await invoke.require(M, { pool })
    const st = await make(m)
    const closed = pool.close()
    let r
    if (slow === null) { await guard(closed, 30000, name); r = await drain(st) }
    else if (name === 'floods-read') { let n = 0; try { for await (const _ of st) { if (++n >= 300) break } } catch (e) { r = { n, code: e.code } } r = r || { n }; await guard(closed, 30000, name) }
    else { r = await guard(drain(st, slow), 30000, name); await guard(closed, 30000, name) }
    console.log(name, JSON.stringify(r))
  }
}
main().catch((e) => { console.log('FAIL', e.message); process.exit(1) })
