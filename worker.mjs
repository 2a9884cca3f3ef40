// The ESM entry of invoke-parallel/worker. How it loads worker.js (and what it does inside a
// bundle) is lib/esm-entry.mjs's.
import { loadCommonJs } from './lib/esm-entry.mjs'

const worker = loadCommonJs(import.meta.url, 'worker', 'invoke-parallel/worker')

export default worker
export const { signal, set, info } = worker
