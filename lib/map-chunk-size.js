'use strict'
// How many items invoke.map puts in one call: enough for a few milliseconds of work, so the cost
// of a call is small next to it, and no more, so the work still spreads evenly over the workers.

/** Milliseconds of work a chunk aims at. */
const TARGET_MS = 4
/** A ceiling on a chunk's items (and so on its message), however cheap they are. */
const MAX_CHUNK = 4096
/** A chunk is at most this many times the last: one fast early measurement cannot flood a worker. */
const GROWTH = 4

/** `size()` for the next chunk; `observe(busyMs, items)` with each chunk's measured time. */
function chunkSizer(fixed) {
  if (fixed !== undefined) return { size: () => fixed, observe() {} }
  let size = 1
  let perItem
  return {
    size: () => size,
    observe(busy, items) {
      if (!(busy >= 0) || !Number.isFinite(busy)) return
      const sample = busy / items
      // The first chunks also pay for the method's warm-up: later ones soon outweigh them.
      perItem = perItem === undefined ? sample : (perItem + sample) / 2
      const wanted = perItem > 0 ? Math.floor(TARGET_MS / perItem) : MAX_CHUNK
      size = Math.max(1, Math.min(MAX_CHUNK, wanted, size * GROWTH))
    },
  }
}

module.exports = { chunkSizer }
