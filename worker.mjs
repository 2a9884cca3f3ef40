// The ESM entry of invoke-parallel/worker.
import worker from './worker.js'

export default worker
export const { signal, set, info } = worker
