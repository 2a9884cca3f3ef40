'use strict'
// INVOKE_PARALLEL_DRIVER picks how a pool starts its workers and moves their bytes, read when the
// pool is made: 'linux' (the default on Linux) or 'portable' (Node's own libuv, every OS). The
// whole suite runs under each (npm test); this file checks the choice itself and what the
// portable driver's workers do for themselves.

const test = require('ava')
const invoke = require('..')

const VARIABLE = 'INVOKE_PARALLEL_DRIVER'

/** A pool made while the variable says `driver` (unset for undefined), then put back. */
function poolWith(t, driver, options = {}) {
  const before = process.env[VARIABLE]
  if (driver === undefined) delete process.env[VARIABLE]
  else process.env[VARIABLE] = driver
  try {
    const pool = invoke.pool({ limit: 1, ...options })
    t.teardown(() => pool.close({ force: true }))
    return pool
  } finally {
    if (before === undefined) delete process.env[VARIABLE]
    else process.env[VARIABLE] = before
  }
}

/** The worker's session and process group, and its own pid, from /proc. */
async function identity(pool) {
  const mod = await invoke.require('./fixtures/process-group', { pool })
  return mod.session()
}

test('each pool reads the variable when it is made: portable workers lead a session of their own, linux ones a group in ours', async (t) => {
  const portable = await identity(poolWith(t, 'portable'))
  const linux = await identity(poolWith(t, 'linux'))
  t.is(portable.session, portable.pid, 'uv_spawn with UV_PROCESS_DETACHED: setsid')
  t.is(portable.group, portable.pid)
  t.is(linux.group, linux.pid, 'a process group of its own')
  t.not(linux.session, linux.pid, "the parent's session")
})

test('an unknown driver name is refused with ERR_INVALID_ARG_VALUE when the pool is made', (t) => {
  for (const name of ['Portable', 'windows', 'uv']) {
    t.throws(() => poolWith(t, name), { code: 'ERR_INVALID_ARG_VALUE', message: new RegExp(VARIABLE) })
  }
})

test('the parent names itself to a portable worker, which keeps no trace of it in its environment', async (t) => {
  // What the worker does with it (PDEATHSIG, closing leaked descriptors) is process-group.test.js's,
  // which the suite runs under this driver too.
  const mod = await invoke.require('./fixtures/process-group', { pool: poolWith(t, 'portable') })
  t.false(await mod.hasEnv('INVOKE_PARALLEL_PARENT'))
})
