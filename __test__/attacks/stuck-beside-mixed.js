'use strict'
// Ad-hoc: a worker stuck (slot 1) beside one whose calls of the same method mostly compute 1 ms
// and now and then await a timer (slot 2, so the method "may await" there): the stuck worker must
// stay at 32 while the other answers. Run: node __test__/attacks/stuck-beside-mixed.js
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const invoke = require('../..')
if (process.env.INVOKE_PARALLEL_WORKER_ID) {
  module.exports.call = async (dir, n) => {
    if (process.env.INVOKE_PARALLEL_WORKER_ID === '1') {
      fs.writeFileSync(path.join(dir, `started-${n}`), '')
      while (!fs.existsSync(path.join(dir, 'go'))) await new Promise((r) => setTimeout(r, 20))
      return 1
    }
    if (n % 10 === 0) await new Promise((r) => setTimeout(r, 1))
    const end = performance.now() + 1
    while (performance.now() < end);
    return 2
  }
} else {
  ;(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ad-stuck-'))
    const pool = invoke.pool({ limit: 2, minimum: 2, maxPerChild: 0 })
    const mod = await invoke.require(__filename, { pool })
    let settled = 0
    const calls = Array.from({ length: 1000 }, (_, n) => mod.call(dir, n).then((r) => (settled++, r)))
    const stuck = () => fs.readdirSync(dir).filter((f) => f.startsWith('started-')).length
    while (settled + stuck() < 1000) await new Promise((r) => setTimeout(r, 20))
    console.log('stuck worker was handed', stuck(), 'of 1000')
    fs.writeFileSync(path.join(dir, 'go'), '')
    await Promise.all(calls)
    await pool.close()
    fs.rmSync(dir, { recursive: true })
  })()
}
