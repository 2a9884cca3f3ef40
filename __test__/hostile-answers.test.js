'use strict'
// Workers whose answers claim more work than their bytes: a thrown value that shares one error
// at every level, sparse arrays of 2^32 - 1 elements where text or a list belongs, nesting past
// what V8's deserializer can follow, a result in the layout of a call. For each, through real
// workers: the forged call fails with ERR_INVOKE_BAD_ANSWER (or arrives as the shared graph it
// is), honest calls on the same pool settle with their own answers, and the parent's heap stays
// flat. The figures (heap growth, the longest the parent's loop was blocked) are logged, not
// asserted: the test only finishes if the parent is not frozen.

const test = require('ava')
const v8 = require('node:v8')
const vm = require('node:vm')
const { monitorEventLoopDelay } = require('node:perf_hooks')
const invoke = require('..')
const { freshPool } = require('./helpers/pools')
const { FrameKind: Kind } = require('../lib/protocol')
const { THROWN_MAX_DEPTH } = require('../lib/wire')

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc')

const description = (fields = {}) => ({ kind: 'error', native: 'Error', name: 'Error', message: 'm', pid: 1, props: {}, ...fields })
function sparse() {
  const array = []
  array.length = 2 ** 32 - 1
  return array
}

/** The answer: `levels` AggregateErrors whose errors are [d, d], one object twice. */
function doubling(levels) {
  let d = description({ message: 'leaf' })
  for (let i = 0; i < levels; i++) d = description({ native: 'AggregateError', name: 'AggregateError', errors: [d, d] })
  return d
}

/** 0xFF 0x0F, then `depth` one-element dense arrays around null: what V8 writes for [[[…null…]]]. */
function nestedArrays(depth) {
  return Buffer.concat([
    Buffer.from([0xff, 0x0f]),
    Buffer.alloc(depth * 2, Buffer.from([0x41, 0x01])),
    Buffer.from([0x30]),
    Buffer.alloc(depth * 3, Buffer.from([0x24, 0x00, 0x01])),
  ])
}

const bytes = (buffer) => [...buffer]

/** kind, payload bytes, and how the forged call must settle (a check of its error). */
const forgeries = {
  [`${THROWN_MAX_DEPTH + 3} levels of AggregateErrors sharing one error (2 KB, 2^${THROWN_MAX_DEPTH + 3} paths)`]: {
    kind: Kind.Rejected,
    payload: () => v8.serialize(doubling(THROWN_MAX_DEPTH + 3)),
  },
  '40 levels of AggregateErrors sharing one error': { kind: Kind.Rejected, payload: () => v8.serialize(doubling(40)) },
  'an AggregateError whose errors are a sparse array of 2^32 - 1': {
    kind: Kind.Rejected,
    payload: () => v8.serialize(description({ native: 'AggregateError', errors: sparse() })),
  },
  'an error whose message is a sparse array of 2^32 - 1': {
    kind: Kind.Rejected,
    payload: () => v8.serialize(description({ message: sparse() })),
  },
  'an error whose stack is a sparse array of 2^32 - 1': {
    kind: Kind.Rejected,
    payload: () => v8.serialize(description({ stack: sparse() })),
  },
  'a result of 300,000 nested arrays': { kind: Kind.Resolved, payload: () => nestedArrays(300_000) },
  'a result of 1,000,000 nested JSON brackets (2 MB)': {
    kind: Kind.Resolved,
    payload: () => Buffer.from('['.repeat(1e6) + ']'.repeat(1e6)),
  },
  "a result in a call's layout (large strings ahead)": {
    kind: Kind.Resolved,
    payload: () => Buffer.concat([Buffer.from([0xfd, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0]), Buffer.from('[1,[2]]')]),
  },
}

async function measured(body) {
  gc()
  const heapBefore = process.memoryUsage().heapUsed
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()
  const cpuBefore = process.cpuUsage()
  const result = await body()
  const cpu = process.cpuUsage(cpuBefore)
  delay.disable()
  gc()
  return {
    result,
    heapGrowthMB: (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20,
    loopBlockedMs: delay.max / 1e6,
    cpuMs: (cpu.user + cpu.system) / 1000,
  }
}

for (const [what, { kind, payload }] of Object.entries(forgeries)) {
  test.serial(`a worker answers with ${what}: that call fails with ERR_INVOKE_BAD_ANSWER, honest calls settle, the heap stays flat`, async (t) => {
    t.timeout(60000)
    const pool = freshPool(t, { limit: 3, onError: () => {} })
    const mod = await invoke.require('./fixtures/hostile-frames', { pool })
    const forged = bytes(payload())
    const { result, heapGrowthMB, loopBlockedMs, cpuMs } = await measured(async () => {
      const liar = mod({ noRetry: true }).forgeAnswer({ kind, payload: forged })
      const honest = Array.from({ length: 20 }, (_, i) => mod.echo({ i }))
      return { forged: await Promise.allSettled([liar]), honest: await Promise.all(honest) }
    })
    t.log(`${forged.length} bytes forged; heap +${heapGrowthMB.toFixed(1)} MB, loop blocked at most ${loopBlockedMs.toFixed(0)} ms, parent CPU ${cpuMs.toFixed(0)} ms`)
    const [outcome] = result.forged
    t.is(outcome.status, 'rejected')
    t.is(outcome.reason.code, 'ERR_INVOKE_BAD_ANSWER', outcome.reason.stack)
    result.honest.forEach(([, value], i) => t.deepEqual(value, { i }))
    t.true(heapGrowthMB < 32, `the heap grew ${heapGrowthMB} MB`)
    await pool.close()
  })
}

test.serial('a forged thrown value within the bounds that shares one error at every level arrives as that graph', async (t) => {
  t.timeout(60000)
  const pool = freshPool(t, { limit: 2, onError: () => {} })
  const mod = await invoke.require('./fixtures/hostile-frames', { pool })
  const { result, heapGrowthMB, loopBlockedMs } = await measured(() =>
    mod({ noRetry: true }).forgeAnswer({ kind: Kind.Rejected, payload: bytes(v8.serialize(doubling(THROWN_MAX_DEPTH))) }).catch((e) => e),
  )
  t.log(`heap +${heapGrowthMB.toFixed(1)} MB, loop blocked at most ${loopBlockedMs.toFixed(0)} ms`)
  let levels = 0
  for (let e = result; e instanceof AggregateError; e = e.errors[0], levels++) t.is(e.errors[0], e.errors[1])
  t.is(levels, THROWN_MAX_DEPTH)
  const [, after] = await mod.echo('after')
  t.is(after, 'after')
  await pool.close()
})

for (const [what, names] of Object.entries({
  'a sparse array of 2^32 - 1': sparse,
  'a list holding a sparse array': () => [sparse()],
  'a number': () => 7,
})) {
  test.serial(`a load answered with ${what} for its method names rejects with ERR_INVOKE_BAD_ANSWER; later loads work`, async (t) => {
    t.timeout(60000)
    const pool = freshPool(t, { limit: 1, onError: () => {} })
    const mod = await invoke.require('./fixtures/hostile-frames', { pool })
    await mod.forgeNextLoad(bytes(v8.serialize(names())))
    const { result, heapGrowthMB, loopBlockedMs } = await measured(() => invoke.require('./fixtures/echo', { pool }).catch((e) => e))
    t.log(`heap +${heapGrowthMB.toFixed(1)} MB, loop blocked at most ${loopBlockedMs.toFixed(0)} ms`)
    t.is(result.code, 'ERR_INVOKE_BAD_ANSWER', String(result?.stack ?? result))
    const echo = await invoke.require('./fixtures/echo', { pool })
    t.is(await echo.add(2, 3), 5)
  })
}
