'use strict'
// Reading the settlement batches the native pool hands the JS thread (src/binding.rs `to_batch`):
// `[bytes, id, kind, x, id, kind, x, ...]`, where `x` is the end offset of a small binary payload
// in `bytes` (each starts where the previous one ended), a Buffer of its own for a large one, or a
// string; two kinds carry a fourth entry.

const { BatchKind } = require('./native')

/** Kinds followed by an extra entry: descriptors (an array of fd numbers), or a thrown error's bytes. */
const WITH_EXTRA = new Set([BatchKind.ResolvedWithHandles, BatchKind.ReportWithError])

/** Calls `visit(id, kind, payload, extra)` for each entry, binary payloads as Buffers. */
function readBatch(batch, visit) {
  const bytes = batch[0]
  let offset = 0
  const resolve = (x) => {
    if (typeof x !== 'number') return x
    const payload = bytes.subarray(offset, x)
    offset = x
    return payload
  }
  let i = 1
  while (i < batch.length) {
    const id = batch[i]
    const kind = batch[i + 1]
    const payload = resolve(batch[i + 2])
    i += 3
    const extra = WITH_EXTRA.has(kind) ? resolve(batch[i++]) : undefined
    visit(id, kind, payload, extra)
  }
}

module.exports = { readBatch }
