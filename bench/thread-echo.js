'use strict'
// Baseline e: a worker_threads worker that answers each `{id, args}` request with postMessage.

const { parentPort } = require('node:worker_threads')

const echo = (value) => value

parentPort.on('message', (msg) => {
  parentPort.postMessage({ id: msg.id, value: echo(...msg.args) })
})
