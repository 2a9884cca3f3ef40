/// <reference types="node" />
import type { ConnectionOptions } from 'bullmq'
import type { PoolLike, PoolOptions, LoadedModule, CallOptions } from 'invoke-parallel'

export interface RemotePoolOptions {
  /** The BullMQ queue's name; the hosts serve the same one. */
  queue: string
  /** What BullMQ accepts: `{host, port}`, `{path}` for a Unix socket, or an ioredis client. */
  connection: ConnectionOptions
  /** Absolute path: modules are named by their path relative to it, as the hosts name them. */
  root: string
  /** BullMQ's key prefix. Default `bull`. */
  prefix?: string
  /** Most calls pending at once; beyond it a call rejects with ERR_INVOKE_QUEUE_FULL. Default Infinity. */
  maxQueue?: number
  /** Largest encoded arguments, result or thrown error in bytes. Default 16 MiB (1024 to 256 MiB). */
  maxMessageSize?: number
  /** Ms pending calls wait for an unreachable Redis before rejecting with ERR_INVOKE_REDIS_UNAVAILABLE. Default 10000. */
  redisTimeout?: number
  /** Ms after which a call with no news has its job read from Redis. Default 5000. */
  pollInterval?: number
  /** Seconds a finished job (and its result) stays in Redis. Default 600. */
  keepResults?: number
  /** Hears what no call owns: event-stream entries read past (ERR_INVOKE_BAD_EVENT). Default: console.error. */
  onError?: (error: Error) => void
  /** An idempotency key for a call (undefined: none): calls with the same key, module and method share one job. */
  key?: (module: string, method: string, args: unknown[]) => string | undefined
  /** Ms a call may wait for a host to start it; then it rejects with ERR_INVOKE_QUEUE_TIMEOUT and its job is removed. Default Infinity. */
  queueTimeout?: number
  /** Ms a job whose host died waits before it runs again, doubled after each later death. Default 0. */
  rerunDelay?: number
  /** Runs in all for a call that throws (1 to 1000), `delay` ms apart, doubled each time; `error.nonRetryable = true` stops them. Default one run. */
  retry?: { attempts?: number; delay?: number }
}

export interface RemotePoolStats {
  /** Calls whose job waits for a host. */
  queued: number
  /** Calls whose job a host is running. */
  running: number
  completed: number
  failed: number
  /** Times a call's job was re-run because its host stopped (died or lost Redis). */
  retried: number
  /** Calls not settled yet: what maxQueue counts. */
  pending: number
  /** Entries of the queue's event stream read past because they were not events. */
  badEvents: number
}

export interface RemotePool extends PoolLike {
  readonly closed: boolean
  /** Stops taking calls; resolves once pending calls have settled and the connections are closed. */
  close(options?: { force?: boolean }): Promise<void>
  stats(): RemotePoolStats
  /** Resolves when a call made then would be accepted. */
  whenRoom(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

export interface ServeOptions {
  queue: string
  connection: ConnectionOptions
  /** Absolute path the modules are named against (the parent's `root`). */
  root: string
  prefix?: string
  /** The allowlist, loaded in this order: specifiers resolved from `root`. */
  modules: string[]
  /** Options of the host's local pool. */
  pool?: PoolOptions
  /** Jobs run at once. Default: what the local pool's workers take at once. */
  concurrency?: number
  /** Most runs of a job whose hosts die or lose Redis (BullMQ's maxStalledCount + 1). Default 3. */
  runs?: number
  /** Ms a host's lock on a job lasts without renewal (BullMQ's lockDuration). Default 30000. */
  lockDuration?: number
  /** Ms between checks for jobs whose host stopped (BullMQ's stalledInterval). Default lockDuration. */
  stalledInterval?: number
  /**
   * Ms close() waits, once the running calls have ended, for Redis to take their results and end
   * the connections; then it ends them itself and resolves `{clean: false}`. Default 10000.
   */
  closeTimeout?: number
  maxMessageSize?: number
  /** Hears errors no call owns (Redis connection errors). Default: console.error. */
  onError?: (error: Error) => void
}

export interface Host {
  /** Resolves once the allowlist is loaded and the host takes jobs. */
  readonly ready: Promise<void>
  /** Entries of the queue's event stream read past because they were not events. */
  readonly badEvents: number
  /**
   * Stops taking jobs, lets the running ones finish, hands their results to Redis, then closes the
   * local pool. `clean: false` (with an ERR_INVOKE_REDIS_UNAVAILABLE error naming the jobs) when
   * Redis did not take the results back within `closeTimeout` ms of the last run ending. `force`
   * (also while a graceful close waits) ends the running calls at once and gives their jobs back
   * to the queue, as the host's death would: `clean: false` with an ERR_INVOKE_POOL_CLOSED error
   * naming them. Rejects only options that are not ones (ERR_INVALID_ARG_TYPE).
   */
  close(options?: { force?: boolean }): Promise<HostClosed>
}

export type HostClosed =
  | { clean: true }
  | { clean: false; error: Error & { code: 'ERR_INVOKE_REDIS_UNAVAILABLE' | 'ERR_INVOKE_POOL_CLOSED'; jobs: string[] } }

/** A pool for `invoke.require(specifier, {pool})` whose calls run on the hosts serving `queue`. */
export declare function remotePool(options: RemotePoolOptions): RemotePool
/** Runs the jobs of `queue` on a local pool, loading only the allowlisted modules. */
export declare function serve(options: ServeOptions): Host

export type { LoadedModule, CallOptions }
