'use strict'
// The program every worker process runs: the protocol (./shim.js) over fd 3 and the process
// around it. It exits as soon as the channel closes, so a worker never outlives its parent.

// First, before anything else runs: a portable-driver worker makes itself what the Linux
// driver's pre-exec step would.
require('./guard').guardWorker()

const net = require('node:net')
const { CHANNEL_FD } = require('../protocol')
const { recordIdentity } = require('./identity')
const { ReadBuffer } = require('./read-buffer')
const { writeOutputThrough } = require('./output')
const shim = require('./shim')

recordIdentity()

/** The pool's limits and ways, from lib/pool.js. */
const { maxMemory, maxMessageSize, capturedOutput } = JSON.parse(process.argv[2] ?? '{}')
if (capturedOutput) writeOutputThrough()

let native = null
const input = new ReadBuffer()
const channel = new net.Socket({
  fd: CHANNEL_FD,
  readable: true,
  writable: true,
  onread: { buffer: () => input.next(), callback: (length, bytes) => shim.received(bytes.subarray(0, length)) },
})
shim.start({
  channel,
  keep: () => input.keep(),
  exit: (code) => process.exit(code),
  warn: (text) => process.stderr.write(text),
  // The addon, loaded only by workers that pass sockets: it reads and writes descriptors on fd 4.
  handles: () => (native ??= require('../binary')),
  rss: () => process.memoryUsage.rss(),
  maxMemory,
  maxMessageSize,
})
channel.on('end', () => process.exit(0))
channel.on('error', () => process.exit(0))
// An exception nothing caught, or a rejection nobody handled: see fatal() in ./shim.js.
process.on('uncaughtException', shim.fatal)
process.on('unhandledRejection', shim.fatal)
