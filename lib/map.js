'use strict'
// invoke.map: a proxy method over many items, as an async iterable of their results. Items go to
// the workers in chunks, one call each (lib/worker/chunk.js runs them), sized from the measured
// time and bytes per item so that a chunk is a few milliseconds of work and a small part of a
// message; a bounded number of chunks is out at once, and the items are read only as chunks are
// wanted (lib/map-chunks.js).

const os = require('node:os')
const { methodTargets } = require('./proxy')
const { kLimit } = require('./pool')
const { mapOptions } = require('./map-options')
const { checkItems } = require('./map-source')
const { ChunkWindow } = require('./map-chunks')
const { MapResults } = require('./map-results')
const { makeError } = require('./errors')

/** Throws a TypeError for a bad argument; everything else rejects the iteration. */
function map(method, items, options) {
  const target = methodTargets.get(method)
  if (target === undefined) throw makeError('ERR_INVALID_ARG_TYPE', 'invoke.map', 'method must be a method of a module proxy')
  const o = mapOptions(options)
  checkItems(items)
  const concurrency = o.concurrency ?? 2 * (target.pool[kLimit] ?? os.availableParallelism() + 1)
  const chunks = new ChunkWindow(target, items, { ...o, concurrency })
  return new MapResults(chunks, () => chunks.cancelled !== null)
}

module.exports = { map }
