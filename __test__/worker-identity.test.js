'use strict'
// require('invoke-parallel/worker').info(): each live worker of a pool has its own slot, 1 to
// limit, which a worker started later reuses once the worker that had it is gone.

const test = require('ava')
const { scaled } = require('./helpers/time')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const fc = require('fast-check')
const invoke = require('..')
const { info } = require('../worker')
const { checkProperty, within } = require('./helpers/fuzz')
const { waitFor } = require('./helpers/processes')

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-parallel-identity-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** What is wrong with a worker's account of itself, or null. */
function inconsistent(said) {
  const { info: me, env, pid } = said
  if (me === undefined) return `worker ${pid} has no info()`
  if (me.pid !== pid) return `info().pid ${me.pid} in worker ${pid}`
  if (String(me.workerId) !== env.workerId || String(me.poolId) !== env.poolId) {
    return `info() ${JSON.stringify(me)} but the environment says ${JSON.stringify(env)}`
  }
  return null
}

test('the live workers of a pool hold the slots 1 to limit, one each, and say so in info() and the environment', async (t) => {
  const dir = tempDir(t)
  let round = 0
  await checkProperty(
    t,
    fc.integer({ min: 1, max: 3 }),
    async (limit) => {
      // A slot the caller tries to set in env is not the worker's: the pool's own comes last.
      const env = { ...process.env, INVOKE_PARALLEL_WORKER_ID: '99', INVOKE_PARALLEL_POOL_ID: '99' }
      const pool = invoke.pool({ limit, minimum: limit, maxPerChild: 1, env })
      try {
        const mod = await invoke.require('./fixtures/identity', { pool })
        const file = path.join(dir, `release-${++round}`)
        const held = Array.from({ length: limit }, () => mod.holdThenTell(file))
        await waitFor(() => pool.stats().busy === limit, 20000, `${limit} busy workers`)
        fs.writeFileSync(file, '')
        const said = await within(Promise.all(held), 20000, 'the held calls')
        const wrong = said.map(inconsistent).find(Boolean)
        if (wrong) return wrong
        const slots = said.map((s) => s.info.workerId).sort((a, b) => a - b)
        const expected = Array.from({ length: limit }, (_, i) => i + 1)
        if (slots.join() !== expected.join()) return `limit ${limit}: slots ${slots}`
        if (new Set(said.map((s) => s.info.pid)).size !== limit) return 'two calls ran on one worker'
        if (new Set(said.map((s) => s.info.poolId)).size !== 1) return 'workers of one pool name different pools'
        return null
      } finally {
        await pool.close({ force: true })
      }
    },
    { runs: 6, msPerRun: 5000 },
  )
})

test('a worker that replaces one that is gone takes its slot: recycling reuses slots', async (t) => {
  const dir = tempDir(t)
  let round = 0
  await checkProperty(
    t,
    fc.integer({ min: 2, max: 5 }),
    async (calls) => {
      const pool = invoke.pool({ limit: 2, minimum: 2, maxPerChild: 1, recycleAfter: 1 })
      try {
        const mod = await invoke.require('./fixtures/identity', { pool })
        const file = path.join(dir, `release-${++round}`)
        const held = mod.holdThenTell(file)
        // One worker is held; each call now runs on a new worker (the last one recycled), in the other slot.
        const said = []
        for (let i = 0; i < calls; i++) said.push(await within(mod.whoAmI(), 20000, `call ${i}`))
        fs.writeFileSync(file, '')
        const heldSaid = await within(held, 20000, 'the held call')
        const wrong = [...said, heldSaid].map(inconsistent).find(Boolean)
        if (wrong) return wrong
        if (new Set(said.map((s) => s.pid)).size !== calls) return `${calls} calls did not run on ${calls} workers`
        const slots = new Set(said.map((s) => s.info.workerId))
        const other = 3 - heldSaid.info.workerId
        if (slots.size !== 1 || !slots.has(other)) return `held slot ${heldSaid.info.workerId}, others took ${[...slots]}`
        return null
      } finally {
        await pool.close({ force: true })
      }
    },
    { runs: 4, msPerRun: 8000 },
  )
})

test('each pool has its own poolId; outside a worker info() is undefined', async (t) => {
  t.timeout(scaled(60000))
  t.is(info(), undefined)
  const pools = [invoke.pool({ limit: 1 }), invoke.pool({ limit: 1 })]
  t.teardown(() => Promise.all(pools.map((pool) => pool.close({ force: true }))))
  const said = await Promise.all(
    pools.map(async (pool) => (await invoke.require('./fixtures/identity', { pool })).whoAmI()),
  )
  for (const s of said) t.is(inconsistent(s), null)
  t.deepEqual(
    said.map((s) => s.info.workerId),
    [1, 1],
  )
  t.not(said[0].info.poolId, said[1].info.poolId)
  t.true(said.every((s) => Number.isInteger(s.info.poolId) && s.info.poolId >= 1))
})
