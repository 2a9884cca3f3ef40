'use strict'
// The compiled scheduler (found by ./binary.js), once ./runtime.js has found the runtime able to
// run it. `processWide` is the addon's exports object: one per process (per worker thread),
// whichever copy of this package's JS loaded it.

const { checkRuntime } = require('./runtime')

const processWide = checkRuntime(() => require('./binary'))
const { NativePool, isListeningSocket } = processWide

module.exports = { NativePool, isListeningSocket, processWide }
