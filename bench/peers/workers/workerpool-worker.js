'use strict'
// workerpool wants its worker script to register its functions with workerpool.worker().
require('workerpool').worker(require('../work'))
