'use strict'
// What each entry of a settlement batch does (kinds: ./protocol.js BatchKind, written by
// src/driver/js_callback.rs): settle or feed a pending call, print a worker's output line,
// report a worker's failure, or tell the pool about room or its close.

const { BatchKind } = require('./protocol')
const { readBatch } = require('./batch')
const { failureError } = require('./errors')
const { restoreHandles } = require('./handles')
const wire = require('./wire')
const { annotate } = require('./annotate')

/**
 * The pool's batch callback. `pool`: `calls` (./calls.js), `output` and `onError` (its options),
 * `room()` when a call would be accepted again, `closed()` once every worker has exited.
 */
function batchSettler(pool) {
  const visit = (id, kind, bytes, start, end, extra, lent) => {
    // Each entry settles on its own: one that throws costs its own call, never the rest of the
    // batch (they would otherwise wait forever, the native side having let go of them).
    try {
      handlers[kind](pool, id, kind, bytes, start, end, extra, lent)
    } catch (err) {
      settleFailed(pool.calls, id, kind, err)
    }
  }
  return (bytes, index, count, extras) => {
    readBatch(bytes, index, count, extras, visit)
    pool.calls.releaseSoon()
  }
}

/** BatchKind -> handler(pool, id, kind, bytes, start, end, extra, lent); the payload is `bytes[start, end)`. */
const handlers = []
handlers[BatchKind.Resolved] = finish
handlers[BatchKind.Rejected] = finish
handlers[BatchKind.Failed] = finish
handlers[BatchKind.ResolvedWithHandles] = finish
handlers[BatchKind.StreamStart] = startStream
handlers[BatchKind.StreamItem] = deliverItem
handlers[BatchKind.StdoutLine] = writeOutput
handlers[BatchKind.StderrLine] = writeOutput
handlers[BatchKind.Report] = (pool, id, kind, bytes, start, end) => report(pool, failureError(bytes.toString('utf8', start, end)))
handlers[BatchKind.ReportWithError] = (pool, id, kind, bytes, start, end, extra) => {
  // An uncaught exception in a worker: the report, with what was thrown as its cause.
  const error = failureError(bytes.toString('utf8', start, end))
  error.cause = decodeThrownOrSay(extra)
  report(pool, error)
}
// Said when the count allowed one more call; calls made since may have taken the room.
handlers[BatchKind.Room] = (pool) => pool.room()
handlers[BatchKind.CallTrace] = fillTrace
handlers[BatchKind.WorkerSpawned] = (pool, pid, kind, bytes, start) => pool.workerSpawned(pid, bytes.readUInt32LE(start))
handlers[BatchKind.WorkerExited] = (pool, pid, kind, bytes, start, end) =>
  pool.workerExited(pid, JSON.parse(bytes.toString('utf8', start, end)))
handlers[BatchKind.Closed] = (pool) => pool.closed()

/** Batch entries that settle or feed a call (the rest are about the pool). */
const CALL_KINDS = new Set(handlers.flatMap((h, kind) => ([finish, startStream, deliverItem].includes(h) ? [kind] : [])))

/** Where and how a traced call ran, just before its last entry: into its trace message. */
function fillTrace(pool, id, kind, bytes, start) {
  const trace = pool.calls.get(id)?.trace
  if (trace === undefined) return
  annotate(trace, {
    workerPid: bytes.readUInt32LE(start),
    attempt: bytes.readUInt32LE(start + 4),
    waitMs: bytes.readDoubleLE(start + 8) / 1000,
    runMs: bytes.readDoubleLE(start + 16) / 1000,
  })
}

/** A call's last entry: its value, its error, or the pool's failure. */
function finish(pool, id, kind, bytes, start, end, extra, lent) {
  const call = pool.calls.get(id)
  const fds = kind === BatchKind.ResolvedWithHandles ? extra : undefined
  // Settled already (cancelled): descriptors that came anyway are closed.
  if (call === undefined) return fds !== undefined && restoreHandles([], fds)
  pool.calls.forget(id, call)
  let outcome
  let ok = false
  // Until restoreHandles has them, the descriptors are ours to close if anything fails.
  let fdsTaken = fds === undefined
  try {
    if (!fdsTaken && call.stream !== undefined) throw new Error('a stream cannot end with descriptors')
    if (kind === BatchKind.Resolved || kind === BatchKind.ResolvedWithHandles) {
      outcome = wire.decode(bytes, start, end, lent)
      if (!fdsTaken) {
        fdsTaken = true
        outcome = restoreHandles([outcome], fds)[0]
      }
      ok = true
    } else {
      outcome =
        kind === BatchKind.Rejected
          ? wire.decodeThrown(Buffer.from(bytes.subarray(start, end)))
          : failureError(bytes.toString('utf8', start, end))
    }
  } catch (err) {
    if (!fdsTaken) restoreHandles([], fds)
    outcome = new Error(`invoke-parallel: the worker's reply could not be decoded: ${err.message}`)
  }
  if (call.trace !== undefined) {
    annotate(call.trace, { outcome: ok ? 'resolved' : kind === BatchKind.Rejected ? 'rejected' : 'failed' })
  }
  if (call.stream === undefined) {
    if (ok) call.resolve(outcome)
    else call.reject(outcome)
  } else if (ok) {
    call.stream.end()
  } else {
    call.stream.fail(outcome)
  }
}

function startStream(pool, id) {
  const call = pool.calls.get(id)
  if (call !== undefined) call.resolve(pool.calls.openStream(id, call))
}

function deliverItem(pool, id, kind, bytes, start, end, extra, lent) {
  const call = pool.calls.get(id)
  if (call === undefined) return
  const { stream } = call
  if (stream === undefined) throw new Error('a streamed item came before its stream')
  let item
  try {
    item = wire.decode(bytes, start, end, lent)
  } catch (err) {
    return stream.abort(new Error(`invoke-parallel: a streamed item could not be decoded: ${err.message}`))
  }
  stream.push(item)
}

/** A line of a worker's output; the entry's id is the worker's pid. */
function writeOutput(pool, pid, kind, bytes, start, end) {
  const stream = kind === BatchKind.StdoutLine ? 'stdout' : 'stderr'
  const line = bytes.toString('utf8', start, end)
  if (pool.output === 'prefix') {
    process[stream].write(`[worker ${pid}] ${line}\n`)
    return
  }
  try {
    pool.output(line, { pid, stream })
  } catch (thrown) {
    process.nextTick(() => {
      throw thrown
    })
  }
}

function report(pool, error) {
  try {
    pool.onError(error)
  } catch (thrown) {
    // Never let a throwing handler cost the rest of the batch its settlement.
    process.nextTick(() => {
      throw thrown
    })
  }
}

/** An entry threw while being settled: its call rejects with why; anything else is rethrown. */
function settleFailed(calls, id, kind, err) {
  const call = CALL_KINDS.has(kind) ? calls.get(id) : undefined
  if (call === undefined) {
    process.nextTick(() => {
      throw err
    })
    return
  }
  calls.forget(id, call)
  const error = new Error(`invoke-parallel: the worker's answer to this call could not be handled: ${err?.message}`, {
    cause: err,
  })
  if (call.stream === undefined) call.reject(error)
  else call.stream.fail(error)
}

/** A worker's uncaught exception, or an Error saying it could not be rebuilt. */
function decodeThrownOrSay(bytes) {
  try {
    return wire.decodeThrown(bytes)
  } catch (err) {
    return new Error(`invoke-parallel: the worker's uncaught exception could not be decoded: ${err.message}`)
  }
}

module.exports = { batchSettler }
