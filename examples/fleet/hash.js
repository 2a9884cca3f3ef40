// The worker module: plain Node code, the same as for a local pool.
const crypto = require('node:crypto')

exports.sha256 = (text) => ({
  digest: crypto.createHash('sha256').update(text).digest('hex'),
  host: process.env.HOST_NAME,
})
