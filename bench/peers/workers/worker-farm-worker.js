'use strict'
// worker-farm calls `fn(...args, callback)`: wrap each shared function in that convention.

const work = require('../work')

for (const [name, fn] of Object.entries(work)) {
  exports[name] = (arg, callback) => {
    let result
    try {
      result = fn(arg)
    } catch (err) {
      return callback(err)
    }
    Promise.resolve(result).then((value) => callback(null, value), callback)
  }
}
