'use strict'
// The compiled scheduler (found by ./binary.js), once ./runtime.js has found the runtime able to
// run it.

const { checkRuntime } = require('./runtime')
const { NativePool, isListeningSocket } = checkRuntime(() => require('./binary'))

module.exports = { NativePool, isListeningSocket }
