'use strict'
// A Node built-in module for the files `invoke-parallel/worker` loads, which worker modules bundle:
// esbuild's ES module output turns `require('node:net')` into a function that throws ("Dynamic
// require of "node:net" is not supported"), as an ES module has no `require`. Node 20.16+ and 22.3+
// reach built-ins through `process`; runtimes without it still `require` them.

function builtin(name) {
  return process.getBuiltinModule?.(name) ?? require(name)
}

module.exports = { builtin }
