/// <reference types="node" />
import type { Server, Socket } from 'node:net'

/** The AbortSignal of the worker call running now; undefined outside a call. */
export declare function signal(): AbortSignal | undefined

/** Returns a socket (or server) to the caller; `keepOpen` keeps this worker's copy usable. */
export declare function set<H extends Socket | Server>(handle: H, options?: { keepOpen?: boolean }): H
