'use strict'
// The hand-written fork pool's child: runs `{id, method, arg}` from the module named in argv[2]
// and answers over Node's IPC channel (JSON, the default serialization).

const work = require(process.argv[2])

process.on('message', ({ id, method, arg }) => {
  Promise.resolve()
    .then(() => work[method](arg))
    .then(
      (value) => process.send({ id, value }),
      (err) => process.send({ id, error: String(err?.stack ?? err) }),
    )
})
process.on('disconnect', () => process.exit(0))
