// A worker module's shape, for the type test only.
export const add = (a: number, b: number): number => a + b
export const later = async (s: string): Promise<string> => s
export const then = (): number => 1
export const version = '1.0.0'
export async function* lines(n: number): AsyncGenerator<string> {
  for (let i = 0; i < n; i++) yield String(i)
}
