// How a worker module uses invoke-parallel/worker, type-checked.
import { Socket } from 'node:net'
import { set, signal } from '../../worker'

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
