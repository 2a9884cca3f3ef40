// Types for the ESM entry of invoke-parallel/worker (worker.mjs).
import * as worker from './worker.js'

export * from './worker.js'
export default worker
