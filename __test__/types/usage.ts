// Compiled (not run) by `npm test`: the public types accept what the API accepts and reject
// what it rejects. Each `@ts-expect-error` fails the build if the line stops being an error.
import invoke = require('../..')
import type * as Worker from './worker'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
function assertType<T extends true>(): T | void {}

async function usage() {
  const pool = invoke.pool({ limit: 2, minimum: 0, maxPerChild: 1, timeout: Infinity, env: { A: 'b', N: 1 } })
  // @ts-expect-error limit is a number
  invoke.pool({ limit: '2' })
  // @ts-expect-error unknown option
  invoke.pool({ limits: 2 })

  const worker = await invoke.require<typeof Worker>('./worker', { pool, noRetry: true })
  // A file URL names the module too (as `new URL('./worker.js', import.meta.url)` would).
  const byUrl = await invoke.require<typeof Worker>(new URL('file:///srv/app/worker.js'), { pool })
  assertType<Equal<typeof byUrl, typeof worker>>()
  const sum: number = await worker.add(1, 2)
  const text = await worker.later('x')
  assertType<Equal<typeof text, string>>()
  assertType<Equal<ReturnType<typeof worker.add>, Promise<number>>>()
  // @ts-expect-error wrong argument type
  worker.add('1', 2)
  // @ts-expect-error non-function exports are not methods
  worker.version
  // @ts-expect-error the module exports no such function
  worker.subtract(2, 1)
  // @ts-expect-error a then export is not exposed
  worker.then
  const bound = worker({ noRetry: true })
  const again: number = await bound.add(sum, 1)

  let cancelLater: () => void = () => {}
  const token = invoke.cancelToken((cancel) => {
    cancelLater = cancel
  })
  cancelLater()
  token.resolve()
  await worker({ cancelToken: token, timeout: 100 }).add(1, 2)
  await worker({ cancelToken: Promise.resolve() }).add(1, 2)
  // @ts-expect-error a cancel token is a thenable or an AbortSignal
  worker({ cancelToken: 5 })
  await worker({ priority: -1.5 })({ timeout: 100 }).add(1, 2)
  // @ts-expect-error a priority is a number
  worker({ priority: 'high' })

  const isolated = await invoke.require<typeof Worker>('./worker', { isolated: true, options: { limit: 1 } })
  await isolated({ noRetry: true }).add(1, 2)
  await isolated[Symbol.asyncDispose]()
  await invoke.close(isolated, { force: true })
  // @ts-expect-error only isolated modules take pool options
  invoke.require('./worker', { options: { limit: 1 } })
  // @ts-expect-error invoke.close takes an isolated proxy
  invoke.close(worker)

  const net = await import('node:net')
  const socket = new net.Socket()
  await worker({ keepOpen: [socket] }).add(1, 2)
  await worker({ keepOpen: true }).add(1, 2)
  // @ts-expect-error keepOpen lists sockets or servers
  worker({ keepOpen: [1] })
  const kept: typeof socket = invoke.set(socket, { keepOpen: true })

  for await (const line of await worker.lines(3)) {
    assertType<Equal<typeof line, string>>()
  }
  const stream = await worker.lines(1)
  await stream.return()
  const stats: invoke.PoolStats = pool.stats()
  void stats.queued
  invoke.pool({ output: 'prefix', execArgv: ['--no-warnings'] })
  invoke.pool({ idleTimeout: 1000 })
  const bounded = invoke.pool({ maxQueue: 100, recycleAfter: 1000, maxMemory: 2 ** 29, maxMessageSize: 2 ** 20 })
  await bounded.whenRoom()
  invoke.pool({ output: (line, { pid, stream }) => void [line.length, pid, stream] })
  // @ts-expect-error output is 'inherit', 'prefix' or a function
  invoke.pool({ output: 'pipe' })

  const untyped = await invoke.require('./anything')
  const anything: unknown = await untyped.whatever(1, 2, 3)

  await pool.close({ force: true })
  await pool[Symbol.asyncDispose]()
  const closed: boolean = pool.closed
  const shared: invoke.Pool = invoke.globalPool()

  try {
    await worker.add(1, 1)
  } catch (error) {
    if (error instanceof invoke.Retry) {
      const how: string | null = error.signal ?? (error.exitCode === null ? null : String(error.exitCode))
      void how
    }
    if (error instanceof invoke.Cancel) void error.message
    if (error instanceof invoke.Timeout) void (error satisfies invoke.Cancel)
  }
  invoke.pool({ onError: (error) => void error.code })
  return [again, anything, closed, shared, kept]
}

// invoke.map: items typed by the method's parameter, results by its return type.
async function mapUsage(worker: invoke.ModuleProxy<typeof Worker>) {
  for await (const text of invoke.map(worker.later, ['a', 'b'], { concurrency: 4, chunk: 16 })) {
    assertType<Equal<typeof text, string>>()
  }
  const signal = new AbortController().signal
  for await (const outcome of invoke.map(worker.later, new Set(['a']), { settle: true, signal, ordered: false })) {
    if (outcome.status === 'fulfilled') assertType<Equal<typeof outcome.value, string>>()
    else void outcome.reason
  }
  async function* names() {
    yield 'x'
  }
  const fromAsync = invoke.map(worker({ noRetry: true }).later, names(), { timeout: 1000 })
  // @ts-expect-error items must fit the method's parameter
  invoke.map(worker.later, [1, 2])
  // @ts-expect-error unknown option
  invoke.map(worker.later, ['a'], { chunks: 4 })
  // @ts-expect-error chunk is a number
  invoke.map(worker.later, ['a'], { chunk: '4' })
  return fromAsync
}
void mapUsage


void usage

// A pool adapter: anything with the two protocol methods is accepted where a pool is.
async function adapterUsage(inner: invoke.Pool) {
  const adapter: invoke.PoolLike = {
    [invoke.loadModule]: (resolvedPath, options) => inner[invoke.loadModule](resolvedPath, options),
    [invoke.callMethod]: (id, method, args, options) => inner[invoke.callMethod](id, method, args, options),
  }
  const worker = await invoke.require<typeof Worker>('./worker', { pool: adapter })
  const sum: number = await worker.add(1, 2)
  // @ts-expect-error an adapter needs both methods
  const half: invoke.PoolLike = { [invoke.loadModule]: adapter[invoke.loadModule] }
  return [sum, half]
}
void adapterUsage

// Observability: stats' times and the traceparent call option.
async function observability(pool: invoke.Pool, mod: { f(): Promise<number> } & ((o: invoke.CallOptions) => { f(): Promise<number> })) {
  const { waitTime, runTime, utilization } = pool.stats()
  const p99: number = waitTime.p99 + runTime.p50 + utilization
  const traced: number = await mod({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }).f()
  // @ts-expect-error: a traceparent is a string
  mod({ traceparent: 1 })
  return p99 + traced
}
void observability
