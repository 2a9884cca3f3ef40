/** The AbortSignal of the worker call running now; undefined outside a call. */
export declare function signal(): AbortSignal | undefined
