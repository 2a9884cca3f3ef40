// The ESM entry: the same API as index.js, as a default export and as named exports.
import invoke from './index.js'

export default invoke
export const { map, pool, globalPool, close, cancelToken, set, Pool, Cancel, Timeout, Retry, loadModule, callMethod, mapChunk } = invoke
const invokeRequire = invoke.require
export { invokeRequire as require }
