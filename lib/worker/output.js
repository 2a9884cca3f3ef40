'use strict'
// The worker's stdout and stderr when the pool captures them: pipes of this worker's own.

/**
 * Makes writes to them complete before `write` returns. Node queues what a pipe cannot take at
 * once (a 2 MB write leaves most of it queued) and a worker that exits, or answers, meanwhile
 * loses it or sends its answer ahead of it. Blocking, a worker that writes faster than the
 * parent takes its output waits in `write` (the parent's flow control, src/driver/worker_output.rs),
 * and everything it wrote is in the pipe before its next answer is sent.
 */
function writeOutputThrough() {
  for (const stream of [process.stdout, process.stderr]) {
    try {
      stream._handle?.setBlocking?.(true)
    } catch {
      // Not a pipe after all (a module replaced it): left as it is.
    }
  }
}

module.exports = { writeOutputThrough }
