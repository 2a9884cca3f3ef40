/// <reference types="node" />
import type { Server, Socket } from 'node:net'

/** The AbortSignal of the worker call running now; undefined outside a call. */
export declare function signal(): AbortSignal | undefined

/** Returns a socket (or server) to the caller; `keepOpen` keeps this worker's copy usable. */
export declare function set<H extends Socket | Server>(handle: H, options?: { keepOpen?: boolean }): H

/** Who a worker is. */
export interface WorkerInfo {
  /** The worker's process id. */
  pid: number
  /**
   * Its slot in the pool, 1 to the pool's `limit`: no two live workers of a pool share one, a new
   * worker takes the lowest one free, and a worker's replacement reuses its slot. Also in the
   * worker's environment as `INVOKE_PARALLEL_WORKER_ID`.
   */
  workerId: number
  /** Which of the parent process's pools it is in (1, 2, … in the order they were made). Also `INVOKE_PARALLEL_POOL_ID`. */
  poolId: number
}

/** Who this worker is; undefined outside a pool's worker. */
export declare function info(): WorkerInfo | undefined
