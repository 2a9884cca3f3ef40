'use strict'
// The compiled scheduler (found by ./binary.js).

const { NativePool, isListeningSocket } = require('./binary')

/** Kinds of the entries in a settlement batch (src/binding.rs). */
const BatchKind = Object.freeze({ Resolved: 0, Rejected: 1, Failed: 2, Report: 3, Closed: 4, ResolvedWithHandles: 5, StdoutLine: 6, StderrLine: 7, StreamStart: 8, StreamItem: 9, ReportWithError: 10, Room: 11 })

module.exports = { NativePool, BatchKind, isListeningSocket }
