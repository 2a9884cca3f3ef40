// A worker module that is one function, with a helper on it (`module.exports = fn`).
declare function resize(width: number, height: number): number
declare namespace resize {
  function twice(x: number): number
}
export = resize
