// Types for invoke-parallel's public API.
/// <reference types="node" />

import type { Server, Socket } from 'node:net'
import type { URL } from 'node:url'

/** Options for `invoke.pool()`. Every one is optional. */
export interface PoolOptions {
  /** Hears internal errors no single call owns: a worker crash, a worker that could not start. Default: `console.error`. */
  onError?: (error: PoolError) => void
  /** Milliseconds a worker above `minimum` may sit idle before it is retired. `Infinity` never retires. Default 30000. */
  idleTimeout?: number
  /** The older name of `idleTimeout` (give one of the two, not both). */
  timeout?: number
  /** Working directory of the workers. Default: `process.cwd()` when the pool is created. */
  cwd?: string
  /** The workers' whole environment (values are converted to strings). Default: `process.env`. */
  env?: Record<string, string | number | boolean | undefined>
  /** Consecutive failed worker starts tolerated before waiting calls are rejected. Default 5. */
  retries?: number
  /** Most worker processes at once. Default: number of CPUs + 1. */
  limit?: number
  /** Workers started with the pool and kept while idle; 0 keeps none. Default 1. */
  minimum?: number
  /** Most calls running at once in one worker; 0 means no limit. Default 0. */
  maxPerChild?: number
  /**
   * How calls go to workers. `'adaptive'` (the default): a worker gets calls while it has room —
   * those that await overlap, those that run synchronously go a few milliseconds of work at a time,
   * so bulk CPU-bound work stays balanced. `'eager'`: every call goes to a worker as soon as
   * `maxPerChild` allows.
   */
  dispatch?: 'adaptive' | 'eager'
  /** Milliseconds a cancelled (or timed-out) call may keep running before its worker is killed. Default 5000. */
  cancelGrace?: number
  /** Milliseconds a starting worker may take to become ready before the start counts as failed (see `retries`). Default 30000; Infinity = no limit. */
  startTimeout?: number
  /**
   * Milliseconds a module load may take on a worker (a module whose exported promise never settles)
   * before the load rejects with `ERR_INVOKE_LOAD_TIMEOUT` and the workers it was sent to are stopped.
   * Default 30000; Infinity = no limit.
   */
  loadTimeout?: number
  /**
   * Milliseconds a streamed result may wait on its reader (the worker has sent all it had room for
   * and nothing is read) while the pool closes gracefully; then the stream ends with
   * `ERR_INVOKE_POOL_CLOSED` after the items it delivered, and its worker stops it.
   * Default 5000; Infinity = wait for the reader however long.
   */
  closeReadGrace?: number
  /** The workers' Node flags. Default: the parent's, minus inspector and eval flags. */
  execArgv?: string[]
  /**
   * Where worker output goes: `'inherit'` (the parent's stdout/stderr, the default), `'prefix'`
   * (the same, each line marked `[worker <pid>]`), or a function called with each line.
   */
  output?: 'inherit' | 'prefix' | ((line: string, source: { pid: number; stream: 'stdout' | 'stderr' }) => void)
  /**
   * Most method calls waiting beyond what the workers take at once (`limit` × `maxPerChild`, one
   * a worker when `maxPerChild` is 0), whether or not the workers have started; a call beyond it
   * rejects with `ERR_INVOKE_QUEUE_FULL`. Module loads are never refused. Default: Infinity.
   */
  maxQueue?: number
  /** Replace a worker after it has finished this many calls. Default: Infinity. */
  recycleAfter?: number
  /** Bytes of resident memory after which a worker is replaced (checked after each call). Default: Infinity. */
  maxMemory?: number
  /** Largest encoded arguments, result or frame in bytes. Default 256 MiB (at most 1 GiB). */
  maxMessageSize?: number
}

/** `pool.stats()`. */
/** A distribution of durations in milliseconds (percentiles within 1/16 of the exact ones). */
export interface TimeSummary {
  count: number
  mean: number
  min: number
  max: number
  p50: number
  p90: number
  p99: number
}

export interface PoolStats {
  /** Workers alive: starting, ready or on their way out. */
  workers: number
  /** Ready workers running at least one call. */
  busy: number
  /** Ready workers running nothing. */
  idle: number
  /** Method calls beyond what the workers take at once: what `maxQueue` counts. */
  queued: number
  /** Method calls running on a worker (cancelled ones included until they return). */
  running: number
  /** Method calls that returned a value (module loads are not counted). */
  completed: number
  /** Method calls that threw, or that the pool failed (refused ones included). */
  failed: number
  /** Times a call was sent again because its worker died. */
  retried: number
  /** Answered method calls, from submission to the dispatch that answered (ms). */
  waitTime: TimeSummary
  /** Answered method calls, from that dispatch to the answer (ms). */
  runTime: TimeSummary
  /** Time workers had a call in flight over what `limit` workers could have had since the pool started, 0 to 1. */
  utilization: number
}

/** What Node's AbortSignal offers that a cancel token needs (an AbortSignal fits). */
export interface AbortSignalLike {
  readonly aborted: boolean
  readonly reason?: unknown
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void
  removeEventListener(type: 'abort', listener: () => void): void
}

/** Anything that says "cancel": a thenable that settles when cancelled, or an AbortSignal. */
export type CancelTokenLike = PromiseLike<unknown> | AbortSignalLike

/** A Promise that resolves when cancelled; `resolve()` cancels it. */
export interface CancelToken extends Promise<void> {
  resolve(): void
}

export interface CloseOptions {
  /** Reject pending calls and kill the workers (SIGTERM, then SIGKILL) instead of letting calls finish. */
  force?: boolean
}

/** A pool of worker processes. */
export declare class Pool {
  constructor(options?: PoolOptions)
  /** True once `close()` has been called. */
  readonly closed: boolean
  /** Stops taking calls and resolves once every worker has exited. Calling it again returns the same promise. */
  close(options?: CloseOptions): Promise<void>
  /** Counts as of the pool's latest activity; cheap enough to call often. */
  stats(): PoolStats
  /** Resolves when a method call made then would be accepted (at once if one would be now). */
  whenRoom(): Promise<void>
  /** `await using pool = invoke.pool()` closes the pool gracefully at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void>
  [loadModule](resolvedPath: string, options: { noRetry: boolean }): Promise<LoadedModule>
  /**
   * `trace`, when the call is traced, is its message on `invoke-parallel:call`: the pool carries
   * its `traceparent` and may fill in where and how the call ran (see README, Observability).
   */
  [callMethod](
    moduleId: LoadedModule['id'],
    method: string,
    args: unknown[],
    options: CallOptions,
    trace?: CallTrace,
  ): Promise<unknown>
}

/** A call's message on the `invoke-parallel:call` TracingChannel. */
export interface CallTrace {
  module?: string
  method?: string
  pool?: unknown
  arguments?: unknown[]
  /** W3C traceparent carried to the worker; a `start` subscriber may set it. */
  traceparent?: string
  workerPid?: number
  attempt?: number
  waitMs?: number
  runMs?: number
  outcome?: 'resolved' | 'rejected' | 'failed' | 'cancelled'
  result?: unknown
  error?: unknown
}

/** Loads a module into a pool: `invoke.require` calls it with the module's resolved path. */
export declare const loadModule: unique symbol
/** Calls a method of a module the pool loaded: every proxy method call ends here. */
export declare const callMethod: unique symbol
/**
 * The method name under which `invoke.map` sends a chunk through `[callMethod]` (args `[name, items]`); a pool
 * that carries calls elsewhere forwards it under the same name and gives back the answer's bytes unchanged.
 */
export declare const mapChunk: string

/** What a pool's `[loadModule]` resolves to: the module's id in that pool and its exported function names. */
export interface LoadedModule {
  id: number | string
  names: string[]
}

/**
 * What `invoke.require({pool})` accepts: an `invoke.pool()`, or an adapter (another transport)
 * implementing the two methods. `closed`, when true, makes new requires reject at once.
 */
export interface PoolLike {
  readonly closed?: boolean
  [loadModule](resolvedPath: string, options: { noRetry: boolean }): Promise<LoadedModule>
  [callMethod](moduleId: LoadedModule['id'], method: string, args: unknown[], options: CallOptions): Promise<unknown>
}

/** Options bound to a module proxy with `proxy(options)`. */
export interface CallOptions {
  /** Reject with `Retry` instead of re-sending the call if its worker dies. */
  noRetry?: boolean
  /** Cancels the call: it rejects with `Cancel`, and the worker's `signal()` aborts. */
  cancelToken?: CancelTokenLike
  /** Milliseconds the call may run once a worker has it; then it rejects with `Timeout`. */
  timeout?: number
  /**
   * Calls with a higher one leave the queue first; equal ones go in the order they were made.
   * Any finite number. Default: 0.
   */
  priority?: number
  /**
   * Sockets and servers among the arguments move to the worker and are closed here; `true` keeps
   * them all open here too (paused), an array keeps the ones it lists.
   */
  keepOpen?: boolean | ReadonlyArray<Socket | Server>
  /** A W3C traceparent the call carries into its worker (see README, Observability). */
  traceparent?: string
}

export interface RequireOptions {
  /** The pool to load the module in. Default: `invoke.globalPool()`. */
  pool?: Pool | PoolLike
  /** Reject with `Retry` instead of re-sending the load (and, by default, the calls) if a worker dies. */
  noRetry?: boolean
  /** Stops waiting for the load: the require rejects with `Cancel`. */
  cancelToken?: CancelTokenLike
}

export interface IsolatedRequireOptions {
  /** Load the module on a pool of its own, never shared and never cached. */
  isolated: true
  /** Options for that pool. */
  options?: PoolOptions
  noRetry?: boolean
  cancelToken?: CancelTokenLike
}

type AnyFunction = (...args: any[]) => any

/** What a call resolves to: the awaited result, or a stream for an async iterable (sockets excepted). */
export type CallResult<R> = Awaited<R> extends Socket | Server
  ? Awaited<R>
  : Awaited<R> extends AsyncIterable<infer T>
    ? WorkerStream<T>
    : Awaited<R>

/** A streamed result: read it with `for await`; `break` stops the worker's generator. */
export interface WorkerStream<T> extends AsyncIterableIterator<T> {
  next(): Promise<IteratorResult<T, undefined>>
  return(value?: unknown): Promise<IteratorResult<T, undefined>>
}

/** A worker module's exported functions, each returning a Promise of its result (see `CallResult`). */
export type ModuleMethods<M> = {
  readonly [K in keyof M as M[K] extends AnyFunction ? (K extends 'then' ? never : K) : never]: M[K] extends (
    ...args: infer A
  ) => infer R
    ? (...args: A) => Promise<CallResult<R>>
    : never
}

/** A module that is one function (`module.exports = fn`, `export =`): the function is the method `default`. */
export type DefaultMethod<M> = M extends (...args: infer A) => infer R
  ? { readonly default: (...args: A) => Promise<CallResult<R>> }
  : unknown

/** What `invoke.require` resolves to: the methods, and a call that binds call options. */
export type ModuleProxy<M> = ModuleMethods<M> & DefaultMethod<M> & ((options: CallOptions) => ModuleProxy<M>)

/** An isolated module's proxy; disposing it (or `invoke.close(proxy)`) ends its pool. */
export type IsolatedModuleProxy<M> = ModuleMethods<M> &
  DefaultMethod<M> &
  ((options: CallOptions) => IsolatedModuleProxy<M>) & { [Symbol.asyncDispose](): Promise<void> }

/**
 * Loads a module in the pool's workers, resolving `specifier` like `require` would from the
 * calling file; a file URL (a `URL`, or a `file:` string such as `import.meta.url` gives) names
 * that file. Never throws: every failure is a rejection. Cached per pool.
 *
 * @example
 * const worker = await invoke.require<typeof import('./worker')>('./worker')
 */
declare function invokeRequire<M = Record<string, AnyFunction>>(
  specifier: string | URL,
  options: IsolatedRequireOptions,
): Promise<IsolatedModuleProxy<M>>
declare function invokeRequire<M = Record<string, AnyFunction>>(
  specifier: string | URL,
  options?: RequireOptions,
): Promise<ModuleProxy<M>>
export { invokeRequire as require }

/** Options for `invoke.map()`. Every one is optional. */
export interface MapOptions {
  /** Most chunk calls out at once. Default: twice the pool's `limit`. */
  concurrency?: number
  /** Items per call, fixed. Default: chosen from the measured time per item (a few ms of work a call). */
  chunk?: number
  /** Yield results in input order (`true`, the default) or as they finish. */
  ordered?: boolean
  /** Yield `{status, value | reason}` for every item instead of rejecting at the first error. */
  settle?: boolean
  /** Stops the map: reading ends, calls in flight are cancelled, the iteration rejects with `Cancel`. */
  signal?: AbortSignalLike
  /** The same, as a cancel token. */
  cancelToken?: CancelTokenLike
  /** Milliseconds each item may take once its chunk is on a worker (a chunk of n items gets n times this). */
  timeout?: number
}

/** What `invoke.map(..., {settle: true})` yields per item. */
export type MapOutcome<T> = { status: 'fulfilled'; value: T } | { status: 'rejected'; reason: unknown }

/**
 * Calls a proxy method once per item (`method(item)`), batching items into chunks, and yields
 * the results: `for await (const r of invoke.map(mod.parse, lines))`. Throws a TypeError or
 * RangeError for a bad argument; everything else rejects the iteration.
 */
export declare function map<A, R>(
  method: (item: A) => Promise<R>,
  items: Iterable<A> | AsyncIterable<A>,
  options: MapOptions & { settle: true },
): AsyncGenerator<MapOutcome<R>, void, undefined>
export declare function map<A, R>(
  method: (item: A) => Promise<R>,
  items: Iterable<A> | AsyncIterable<A>,
  options?: MapOptions & { settle?: false },
): AsyncGenerator<R, void, undefined>

/** Creates a pool of worker processes. Throws a TypeError or RangeError naming a bad option. */
export declare function pool(options?: PoolOptions): Pool

/** The default pool, created with default options on first use. */
export declare function globalPool(): Pool

/** Closes the pool behind an isolated module's proxy (rejects with a TypeError for any other proxy). */
export declare function close(proxy: IsolatedModuleProxy<unknown>, options?: CloseOptions): Promise<void>

/**
 * In a worker method: `return invoke.set(socket, {keepOpen})` returns a socket or server to the
 * caller, keeping the worker's copy open if asked.
 */
export declare function set<H extends Socket | Server>(handle: H, options?: { keepOpen?: boolean }): H

/** A cancel token: call `cancel` (or `token.resolve()`) to cancel. */
export declare function cancelToken(init?: (cancel: () => void) => void): CancelToken

/** A cancelled call or load. */
export declare class Cancel extends Error {
  constructor(message?: string, options?: { cause?: unknown })
  readonly code: 'ERR_INVOKE_CANCELLED' | 'ERR_INVOKE_TIMEOUT'
}

/** A call that ran longer than its `timeout`. */
export declare class Timeout extends Cancel {
  readonly code: 'ERR_INVOKE_TIMEOUT'
}

/** A call whose worker died under it and that was not (or no longer) retried. */
export declare class Retry extends Error {
  readonly code: 'ERR_INVOKE_WORKER_DIED'
  readonly pid: number | null
  readonly exitCode: number | null
  readonly signal: string | null
}

/** An error the pool itself raises, with a code that says which. */
export interface PoolError extends Error {
  code:
    | 'ERR_INVOKE_POOL_CLOSED'
    | 'ERR_INVOKE_WORKER_START'
    | 'ERR_INVOKE_WORKER_CRASHED'
    | 'ERR_INVOKE_QUEUE_FULL'
    | 'ERR_INVOKE_BAD_ANSWER'
    | 'ERR_INVOKE_INTERNAL'
  pid?: number | null
  exitCode?: number | null
  signal?: string | null
}
