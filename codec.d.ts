/// <reference types="node" />

/** A value as bytes (structured clone, or JSON where that is exact). Throws a TypeError naming where a function or symbol sits in `what`. */
export declare function encode(value: unknown, what: string): Buffer
/** The value encoded by `encode`. */
export declare function decode(bytes: Buffer): unknown
/** A thrown value as bytes: native error class, message, code, cause and other fields. Never throws. */
export declare function encodeThrown(thrown: unknown): Buffer
/** The thrown value encoded by `encodeThrown`, rebuilt. */
export declare function decodeThrown(bytes: Buffer): unknown
