'use strict'
// Workers that lie about their pace (Awaiting and Pace frames, lib/worker/pace.js): what they say
// sizes only their own share of the calls. A report that cannot be true costs that worker; one
// that is merely false gets it no more than eager dispatch would; honest calls settle either way.

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const { scaled } = require('./helpers/time')
const invoke = require('..')
const { FrameKind: Kind } = require('../lib/protocol')
const { watchedPool, scratchDir } = require('./helpers/pools')
const { waitFor } = require('./helpers/processes')

const FIXTURE = require.resolve('./fixtures/hostile-frames')
const broke = (errors) => errors.find((e) => /broke the protocol/.test(e.message))

function pace(busy, elapsed) {
  const payload = Buffer.alloc(8)
  payload.writeUInt32LE(busy, 0)
  payload.writeUInt32LE(elapsed, 4)
  return [...payload]
}

async function setup(t, options) {
  const { pool, errors } = watchedPool(t, { limit: 2, minimum: 2, ...options })
  const mod = await invoke.require(FIXTURE, { pool, noRetry: true })
  return { pool, mod, errors }
}

/** Honest calls alongside the lies (retried if they shared the liar's worker): each gets its own answer. */
async function checkHonest(t, mod, n = 40) {
  const honest = mod({ noRetry: false })
  const results = await Promise.all(Array.from({ length: n }, (_, i) => honest.echo(i)))
  t.deepEqual(
    results.map(([, value]) => value),
    Array.from({ length: n }, (_, i) => i),
  )
}

const impossible = [
  ['a Pace busier than the time it covers', [{ kind: Kind.Pace, call: 0, module: 0, payload: pace(2000, 1000) }], /busy 2000 µs of 1000/],
  ['a Pace of the wrong size', [{ kind: Kind.Pace, call: 0, module: 0, payload: [1, 2, 3] }], /Pace frame of 3 bytes/],
  [
    'a call said to await twice',
    [
      { kind: Kind.Awaiting, offset: 0, module: 0, payload: [] },
      { kind: Kind.Awaiting, offset: 0, module: 0, payload: [] },
    ],
    /awaits when it had said so already/,
  ],
]
for (const [what, frames, message] of impossible) {
  test.serial(`${what} gets the worker killed; the other calls settle`, async (t) => {
    t.timeout(scaled(60000))
    const { pool, mod, errors } = await setup(t)
    const honest = checkHonest(t, mod)
    await t.throwsAsync(mod.lie({ frames }), { instanceOf: invoke.Retry })
    t.regex(broke(errors).message, message)
    await honest
    await checkHonest(t, mod)
    await pool.close()
  })
}

test.serial('a worker that floods idle reports and says its calls await is kept, and every call settles', async (t) => {
  t.timeout(scaled(60000))
  // 20,000 reports of an idle loop with each of its calls, each call said to await before it
  // answers: false, but nothing it said is impossible, so the worker is kept; what it gains is
  // calls sent ahead, bounded as eager dispatch bounds them.
  const { pool, mod, errors } = await setup(t, { limit: 1, minimum: 1 })
  const reports = Array.from({ length: 20000 }, () => ({ kind: Kind.Pace, call: 0, module: 0, payload: pace(0, 10000) }))
  const lies = Array.from({ length: 30 }, () =>
    mod.lie({ frames: [{ kind: Kind.Awaiting, offset: 0, module: 0, payload: [] }, ...reports] }),
  )
  t.deepEqual(await Promise.all(lies), Array(30).fill('survived'))
  t.is(broke(errors), undefined)
  await checkHonest(t, mod)
  await pool.close()
})

test.serial('a worker that says calls it was never given await is killed at the first; the other calls settle', async (t) => {
  t.timeout(scaled(60000))
  const { pool, mod, errors } = await setup(t)
  const honest = checkHonest(t, mod)
  await t.throwsAsync(mod.lie({ frames: [{ kind: Kind.Awaiting, offset: 12345, module: 0, payload: [] }] }), {
    instanceOf: invoke.Retry,
  })
  t.regex(broke(errors).message, /said it awaits call \d+, which it was never given/)
  await honest
  await checkHonest(t, mod)
  await pool.close()
})

test.serial('a worker that reports its pace while it holds no call, with no news, is killed', async (t) => {
  t.timeout(scaled(60000))
  const { pool, mod, errors } = await setup(t, { limit: 1, minimum: 1 })
  t.is(await mod.paceAfterAnswer(5000), 'answered')
  await waitFor(() => broke(errors) !== undefined, 30000, 'the idle reports to cost the worker')
  t.regex(broke(errors).message, /reported its pace with nothing to report and no call to run/)
  await checkHonest(t, mod)
  await pool.close()
})

const floods = [
  ['idle Pace reports while it holds its call', 'pace'],
  ['Awaiting frames for calls it was never given', 'awaiting'],
]
for (const [what, kind] of floods) {
  test.serial(`a worker flooding ${what}: the parent survives and the honest calls on the other worker settle`, async (t) => {
    t.timeout(scaled(120000))
    const dir = scratchDir(t, 'flood')
    const stop = path.join(dir, 'stop')
    // maxPerChild 1: the flooder's call holds its worker, so the honest calls go to the other one.
    const { pool, mod, errors } = await setup(t, { maxPerChild: 1 })
    await Promise.all([mod.echo(0), mod.echo(1)])
    const flooding = mod({ noRetry: true }).floodFrames(kind, stop)
    // The honest calls are to run during the flood: it must have started (it may be dispatched
    // after the first of them, and would otherwise start only once they are all done).
    await waitFor(() => fs.existsSync(`${stop}.started`), 60000, 'the flood to start')
    // One at a time, while the flood lasts: each waits on the parent's loop the flood shares.
    for (let i = 0; i < 300; i++) t.deepEqual((await mod.echo(i))[1], i)
    fs.writeFileSync(stop, '')
    if (kind === 'pace') {
      t.true((await flooding) > 0, 'kept: nothing it said was impossible')
      t.is(broke(errors), undefined)
    } else {
      await t.throwsAsync(flooding, { instanceOf: invoke.Retry })
      t.regex(broke(errors).message, /said it awaits call \d+, which it was never given/)
    }
    await checkHonest(t, mod)
    await pool.close()
  })
}

test.serial("a worker's reports are read a bounded number a loop turn: the parent's loop turns while a burst of them is read", async (t) => {
  t.timeout(scaled(60000))
  // 40,000 reports then the answer, on one worker. The driver reads at most 64 reports of one
  // worker a turn (its per-turn budget: a report is 16 of 1,024 units), so the parent's loop
  // turns at least 625 times between the call and its answer; reading all it can at once takes a
  // few turns (tens of KiB a read). Turns are counted by an unref'd immediate, which runs once a
  // turn without keeping the loop from sleeping: a loop that only waits for the worker adds none.
  const count = 40000
  const { pool, mod, errors } = await setup(t, { limit: 1, minimum: 1 })
  await mod.echo(0)
  let turns = 0
  let counting = true
  const tick = () => {
    turns++
    if (counting) setImmediate(tick).unref()
  }
  setImmediate(tick).unref()
  t.is(await mod.paceBurst(count), count)
  counting = false
  // The Linux driver may read a worker twice in one turn (its backlog, then its socket): 2 x 64.
  t.true(turns >= count / 128, `${turns} loop turns while ${count} reports were read`)
  t.is(broke(errors), undefined)
  await pool.close()
})
