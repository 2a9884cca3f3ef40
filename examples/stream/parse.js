'use strict'
// Runs in a worker: reads a CSV file line by line and yields one record per line. The parent
// reads records as they come; when it stops reading, this generator waits, and when it breaks
// out of its loop, the `finally` below runs and the file is closed.

const fs = require('node:fs')
const readline = require('node:readline')

exports.records = async function* (file) {
  const input = fs.createReadStream(file)
  const lines = readline.createInterface({ input, crlfDelay: Infinity })
  let header = null
  try {
    for await (const line of lines) {
      if (line === '') continue
      const cells = line.split(',')
      if (header === null) {
        header = cells
        continue
      }
      const record = {}
      header.forEach((name, i) => {
        record[name] = name === 'amount' ? Number(cells[i]) : cells[i]
      })
      yield record
    }
  } finally {
    lines.close()
    input.destroy()
  }
}
