'use strict'
// The compiled scheduler. `binding.js` is the loader napi-rs generates at build time.

const { NativePool, isListeningSocket } = require('../binding.js')

/** Kinds of the entries in a settlement batch (src/binding.rs). */
const BatchKind = Object.freeze({ Resolved: 0, Rejected: 1, Failed: 2, Report: 3, Closed: 4, ResolvedWithHandles: 5, StdoutLine: 6, StderrLine: 7, StreamStart: 8, StreamItem: 9, ReportWithError: 10, Room: 11 })

module.exports = { NativePool, BatchKind, isListeningSocket }
