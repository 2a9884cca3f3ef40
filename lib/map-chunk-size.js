'use strict'
// How many items invoke.map puts in one call: enough for a few milliseconds of work, so the cost
// of a call is small next to it, and no more, so the work still spreads evenly over the workers.

/** Milliseconds of work a chunk aims at. */
const TARGET_MS = 4
/** A ceiling on a chunk's items (and so on its message), however cheap they are. */
const MAX_CHUNK = 4096
/** A chunk is at most this many times the last: one fast early measurement cannot flood a worker. */
const GROWTH = 4

/** What the measured time per item keeps of the earlier chunks' at each new one. */
const DECAY = 0.5

/** `size()` for the next chunk; `observe(busyMs, items)` with each chunk's measured time. */
function chunkSizer(fixed) {
  if (fixed !== undefined) return { size: () => fixed, observe() {} }
  let size = 1
  // Time per item over the chunks seen, each weighed by its items, the older ones fading: the
  // first chunks are one item each and pay for the method's warm-up, and averaging them by
  // chunk kept that cost in the estimate for several round trips.
  let busyMs = 0
  let items = 0
  return {
    size: () => size,
    observe(busy, count) {
      if (!(busy >= 0) || !Number.isFinite(busy)) return
      busyMs = busyMs * DECAY + busy
      items = items * DECAY + count
      const perItem = busyMs / items
      const wanted = perItem > 0 ? Math.floor(TARGET_MS / perItem) : MAX_CHUNK
      size = Math.max(1, Math.min(MAX_CHUNK, wanted, size * GROWTH))
    },
  }
}

module.exports = { chunkSizer }
