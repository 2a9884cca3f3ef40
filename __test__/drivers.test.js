'use strict'
// INVOKE_PARALLEL_DRIVER picks how a pool starts its workers and moves their bytes, read when the
// pool is made: 'linux' (the default on Linux) or 'portable' (Node's own libuv, every OS). The
// whole suite runs under each (npm test); this file checks the choice itself and what the
// portable driver's workers do for themselves.

const test = require('ava')
const { linuxTest, cannotPassSockets } = require('./helpers/platform')
const invoke = require('..')
const { kDriver } = require('../lib/pool')
const { poolOnDriver, DRIVERS } = require('./helpers/pools')

const VARIABLE = 'INVOKE_PARALLEL_DRIVER'

/** The worker's session and process group, and its own pid, from /proc. */
async function identity(pool) {
  const mod = await invoke.require('./fixtures/process-group', { pool })
  return mod.session()
}

linuxTest('it compares both drivers and reads the session from /proc')('each pool reads the variable when it is made; under either driver a worker leads a process group in our session', async (t) => {
  const session = Number(require('node:fs').readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[3])
  const seen = {}
  for (const driver of ['portable', 'linux']) {
    const pool = poolOnDriver(t, driver)
    t.is(pool[kDriver], driver)
    const { pid, group, session: its } = await identity(pool)
    t.is(group, pid, `${driver}: a process group of its own`)
    t.is(its, session, `${driver}: in our session, not one of its own`)
    const mod = await invoke.require('./fixtures/process-group', { pool })
    seen[driver] = await mod.hasEnv('INVOKE_PARALLEL_PARENT')
  }
  // Only the portable driver's workers are told their parent (and they clear it): no other way
  // to tell from inside which driver started them.
  t.deepEqual(seen, { portable: false, linux: false })
})

test('unset, the variable means the linux driver on Linux, the portable driver elsewhere', (t) => {
  const fallback = process.platform === 'linux' ? 'linux' : 'portable'
  t.is(poolOnDriver(t, undefined)[kDriver], fallback)
  t.is(poolOnDriver(t, '')[kDriver], fallback)
})

test('an unknown driver name is refused with ERR_INVALID_ARG_VALUE when the pool is made', (t) => {
  for (const name of ['Portable', 'windows', 'uv']) {
    t.throws(() => poolOnDriver(t, name), { code: 'ERR_INVALID_ARG_VALUE', message: new RegExp(VARIABLE) })
  }
})

test('INVOKE_PARALLEL_DRIVER=linux off Linux is refused with ERR_INVALID_ARG_VALUE, naming the platform', (t) => {
  // Off Linux as it is, or on Linux as a platform without the linux driver.
  const platform = Object.getOwnPropertyDescriptor(process, 'platform')
  if (process.platform === 'linux') Object.defineProperty(process, 'platform', { ...platform, value: 'darwin' })
  try {
    t.throws(() => poolOnDriver(t, 'linux'), { code: 'ERR_INVALID_ARG_VALUE', message: /Linux only, not on (darwin|win32)/ })
  } finally {
    Object.defineProperty(process, 'platform', platform)
  }
})

test('the parent names itself to a portable worker, which keeps no trace of it in its environment', async (t) => {
  // What the worker does with it (PDEATHSIG, closing leaked descriptors) is process-group.test.js's,
  // which the suite runs under this driver too.
  const mod = await invoke.require('./fixtures/process-group', { pool: poolOnDriver(t, 'portable') })
  t.false(await mod.hasEnv('INVOKE_PARALLEL_PARENT'))
})

test('where sockets cannot travel (a Windows Node without the tcp_wrap binding), a call carrying one is refused with ERR_INVOKE_HANDLES_UNSUPPORTED', async (t) => {
  const net = require('node:net')
  const { takeHandles } = require('../lib/handles')
  const server = net.createServer().listen(0)
  await new Promise((resolve) => server.once('listening', resolve))
  t.teardown(() => server.close())
  const platform = Object.getOwnPropertyDescriptor(process, 'platform')
  const binding = Object.getOwnPropertyDescriptor(process, 'binding')
  Object.defineProperty(process, 'platform', { ...platform, value: 'win32' })
  Object.defineProperty(process, 'binding', {
    ...binding,
    value: (name) => {
      throw new Error(`no ${name} here`)
    },
  })
  // The binding is looked up once per process: a fresh copy of lib/handles.js asks again.
  const fresh = require.resolve('../lib/handles')
  const cached = require.cache[fresh]
  delete require.cache[fresh]
  try {
    const { takeHandles: refusing } = require('../lib/handles')
    t.throws(() => refusing([1, server], false), { code: 'ERR_INVOKE_HANDLES_UNSUPPORTED', instanceOf: TypeError })
    t.is(refusing([1, 'no socket'], false), null, 'a call without sockets goes as ever')
  } finally {
    Object.defineProperty(process, 'platform', platform)
    Object.defineProperty(process, 'binding', binding)
    require.cache[fresh] = cached
  }
  // Everywhere this suite runs (Linux, and Windows under wine) they travel.
  t.is(cannotPassSockets(), null)
  t.not(takeHandles([server], false), null, 'here they travel')
})

test('a parent pid in the environment the pool passes on is not taken for the pool\'s own (either driver)', async (t) => {
  // What a linux-driver worker would make of a stale INVOKE_PARALLEL_PARENT: its guard would see
  // a parent that is not its own and exit at once.
  for (const driver of DRIVERS) {
    const pool = poolOnDriver(t, driver, { env: { ...process.env, INVOKE_PARALLEL_PARENT: '1' } })
    const mod = await invoke.require('./fixtures/process-group', { pool })
    t.false(await mod.hasEnv('INVOKE_PARALLEL_PARENT'), driver)
  }
})
