module.exports = { files: ['*.attack.js'], timeout: '60s', workerThreads: false }
