'use strict'
// The compiled scheduler (found by ./binary.js). `processWide` is the addon's exports object:
// one per process (per worker thread), whichever copy of this package's JS loaded it.

const processWide = require('./binary')
const { NativePool, isListeningSocket } = processWide

module.exports = { NativePool, isListeningSocket, processWide }
