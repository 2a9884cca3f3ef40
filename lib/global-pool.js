'use strict'

const { Pool } = require('./pool')

let shared = null

/** The default pool, created with default options on first use. */
function globalPool() {
  if (shared === null || shared.closed) shared = new Pool()
  return shared
}

module.exports = { globalPool }
