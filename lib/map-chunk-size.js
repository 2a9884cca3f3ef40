'use strict'
// How many items invoke.map puts in one call: enough for a few milliseconds of work, so the cost
// of a call is small next to it, and no more, so the work still spreads evenly over the workers;
// and few enough that the call's items, and its results, fill a small part of a message.

/** Milliseconds of work a chunk aims at. */
const TARGET_MS = 4
/** The part of `maxMessageSize` a chunk's items or results aim at, so that one larger than the rest still fits. */
const TARGET_FILL = 1 / 4
/** A ceiling on a chunk's items (and so on its message), however cheap they are. */
const MAX_CHUNK = 4096
/** A chunk is at most this many times the last: one fast early measurement cannot flood a worker. */
const GROWTH = 4

/** What the measured time per item keeps of the earlier chunks' at each new one. */
const DECAY = 0.5

/**
 * `size()` for the next chunk; `observe(busyMs, items, fill)` with each chunk's measured time
 * and the largest part of `maxMessageSize` its items or its results took (0 if unknown).
 */
function chunkSizer(fixed) {
  if (fixed !== undefined) return { size: () => fixed, observe() {} }
  let size = 1
  // Time and fill per item over the chunks seen, each weighed by its items, the older ones
  // fading: the first chunks are one item each and pay for the method's warm-up, and averaging
  // them by chunk kept that cost in the estimate for several round trips.
  let busyMs = 0
  let filled = 0
  let items = 0
  return {
    size: () => size,
    observe(busy, count, fill = 0) {
      if (!(busy >= 0) || !Number.isFinite(busy) || !(fill >= 0) || !Number.isFinite(fill)) return
      busyMs = busyMs * DECAY + busy
      filled = filled * DECAY + fill
      items = items * DECAY + count
      const perItem = busyMs / items
      const fillPerItem = filled / items
      const wanted = perItem > 0 ? Math.floor(TARGET_MS / perItem) : MAX_CHUNK
      const fits = fillPerItem > 0 ? Math.floor(TARGET_FILL / fillPerItem) : MAX_CHUNK
      size = Math.max(1, Math.min(MAX_CHUNK, wanted, fits, size * GROWTH))
    },
  }
}

module.exports = { chunkSizer, TARGET_FILL }
