// How a worker module uses invoke-parallel/worker, type-checked.
import { Socket } from 'node:net'
import { info, set, signal } from '../../worker'

export async function fetchAll(urls: string[]): Promise<string[]> {
  const callSignal: AbortSignal | undefined = signal()
  const pages: string[] = []
  for (const url of urls) {
    if (callSignal?.aborted) break
    pages.push(url)
  }
  return pages
}

export function handBack(socket: Socket): Socket {
  return set(socket, { keepOpen: false })
}

export function whoAmI(): string {
  const me = info()
  if (me === undefined) return 'not a worker'
  const { pid, workerId, poolId }: { pid: number; workerId: number; poolId: number } = me
  return `${pid} ${workerId} ${poolId}`
}
