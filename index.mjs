// The ESM entry: the same API as index.js, as a default export and as named exports. It is
// required rather than imported so that a runtime whose ESM loader cannot see CommonJS exports
// (Deno reads index.js as an ES module) still reaches lib/runtime.js's clear error.
import { createRequire } from 'node:module'

const invoke = createRequire(import.meta.url)('./index.js')

export default invoke
export const { map, pool, globalPool, close, cancelToken, set, Pool, Cancel, Timeout, Retry, loadModule, callMethod, mapChunk } = invoke
const invokeRequire = invoke.require
export { invokeRequire as require }
