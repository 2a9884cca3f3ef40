// The ESM entry: the same API as index.js, as a default export and as named exports. How it loads
// index.js (and what it does inside a bundle) is lib/esm-entry.mjs's.
import { loadCommonJs } from './lib/esm-entry.mjs'

const invoke = loadCommonJs(import.meta.url, 'index', 'invoke-parallel')

export default invoke
export const { map, pool, globalPool, close, cancelToken, set, Pool, Cancel, Timeout, Retry, loadModule, callMethod, mapChunk } = invoke
const invokeRequire = invoke.require
export { invokeRequire as require }
