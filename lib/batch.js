'use strict'
// Reading the settlement batches the native pool hands the JS thread (src/driver/js_callback.rs):
// `bytes`, the inline payloads back to back; `index`, five words per entry (id, kind, end of its
// inline payload, 1 + index in `extras` of a large payload or 0, 1 + index in `extras` of the
// kind's second part or 0), of which the first `count` words are this batch's; `extras`, the
// out-of-line parts. `bytes` and `index` are reused for the next batch: nothing may keep a view
// of them past the call.

const WORDS = 5

/**
 * Calls `visit(id, kind, bytes, start, end, extra, lent)` for each entry: its payload is
 * `bytes[start, end)` (for a large one, a Buffer of its own, whole); `lent` when those bytes
 * are the reused ones, which must be copied to be kept.
 */
function readBatch(bytes, index, count, extras, visit) {
  let start = 0
  for (let i = 0; i < count; i += WORDS) {
    const end = index[i + 2]
    const own = index[i + 3]
    const extra = index[i + 4] === 0 ? undefined : extras[index[i + 4] - 1]
    if (own === 0) visit(index[i], index[i + 1], bytes, start, end, extra, true)
    else {
      const payload = extras[own - 1]
      visit(index[i], index[i + 1], payload, 0, payload.length, extra, false)
    }
    start = end
  }
}

module.exports = { readBatch }
