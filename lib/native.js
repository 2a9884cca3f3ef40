'use strict'
// The compiled scheduler (found by ./binary.js).

const { NativePool, isListeningSocket } = require('./binary')

module.exports = { NativePool, isListeningSocket }
