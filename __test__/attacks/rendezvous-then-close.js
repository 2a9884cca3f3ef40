const invoke = require('../..')
const net = require('node:net'); const os = require('node:os'); const path = require('node:path'); const fs = require('node:fs')
const R = require.resolve('../fixtures/rendezvous')
const guard = (p, ms, what) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`HANG: ${what}`)), ms).unref())])
async function server(size) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ad-rdv-')); const sp = path.join(dir, 's'); const waiting = []
  const srv = net.createServer((s) => { waiting.push(s); if (waiting.length === size) for (const x of waiting.splice(0)) x.end(String(size)) })
  await new Promise((r) => srv.listen(sp, r)); return { sp, srv }
}
async function main() {
  for (const [limit, size, maxPerChild, driverNote] of [[2, 100, 0], [3, 300, 0], [3, 300, 150], [2, 129, 70], [3, 97, 33]]) {
    const { sp, srv } = await server(size)
    const pool = invoke.pool({ limit, minimum: limit, maxPerChild })
    const m = await invoke.require(R, { pool })
    const arrivals = Array.from({ length: size }, () => m.arrive(sp))
    const closed = pool.close()
    try { await guard(Promise.all([...arrivals, closed]), 20000, `limit ${limit} size ${size} mpc ${maxPerChild}`); console.log(limit, size, maxPerChild, 'ok') }
    catch (e) { console.log(e.message); await pool.close({ force: true }) }
    srv.close()
  }
}
main()
