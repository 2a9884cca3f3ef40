// Type checks for invoke-parallel-bullmq (tsc only, never run): the remote pool is a pool that
// invoke.require accepts, and its proxies are typed as a local pool's are.
import invoke = require('invoke-parallel')
import { remotePool, serve } from 'invoke-parallel-bullmq'

declare const hashModule: { sha256(text: string): string; slowSquare(n: number): Promise<number> }

async function parent() {
  const pool = remotePool({
    queue: 'hash', connection: { host: '127.0.0.1', port: 6379 }, root: __dirname,
    key: (module, method, args) => (method === 'sha256' ? `${module}:${String(args[0])}` : undefined),
    queueTimeout: 60000, rerunDelay: 1000, retry: { attempts: 3, delay: 100 }, onError: (error) => console.error(error.message),
  })
  const hash = await invoke.require<typeof hashModule>('./hash', { pool })
  const digest: string = await hash.sha256('hello')
  const square: number = await hash({ timeout: 5000, cancelToken: new AbortController().signal }).slowSquare(3)
  // @ts-expect-error: sha256 takes a string
  await hash.sha256(1)
  const { pending, retried, badEvents }: { pending: number; retried: number; badEvents: number } = pool.stats()
  void badEvents
  await pool.whenRoom()
  await pool.close()
  return [digest, square, pending, retried]
}

async function host() {
  const connection = { path: '/run/redis.sock' }
  const h = serve({ queue: 'hash', connection, root: __dirname, modules: ['./hash.js'], pool: { limit: 4 }, lockDuration: 5000, closeTimeout: 2000 })
  await h.ready
  const read: number = h.badEvents
  void read
  const closed = await h.close()
  if (!closed.clean) {
    const code: 'ERR_INVOKE_REDIS_UNAVAILABLE' | 'ERR_INVOKE_POOL_CLOSED' = closed.error.code
    const jobs: string[] = closed.error.jobs
    void code
    void jobs
  }
  await h.close({ force: true })
  // @ts-expect-error: force is a boolean
  await h.close({ force: 'yes' })
  // @ts-expect-error: the allowlist is required
  serve({ queue: 'hash', connection, root: __dirname })
}

void parent
void host
