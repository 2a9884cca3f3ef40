'use strict'
// The fork-pool baseline's child: answers `{id, fn, arg}` over the built-in IPC channel (JSON, the
// default serialization) with `{id, value}` or `{id, error}`.

const work = require('../work')

process.on('message', (msg) => {
  let result
  try {
    result = work[msg.fn](msg.arg)
  } catch (err) {
    return process.send({ id: msg.id, error: String(err && err.stack) })
  }
  Promise.resolve(result).then(
    (value) => process.send({ id: msg.id, value }),
    (err) => process.send({ id: msg.id, error: String(err && err.stack) }),
  )
})
// Exit once the parent disconnects (or dies).
process.on('disconnect', () => process.exit(0))
