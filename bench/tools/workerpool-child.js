'use strict'
// workerpool wants its worker script to register its functions: the module named in argv[2].
require('workerpool').worker(require(process.argv[2]))
