/** A stored object's content: whole, or as a stream of chunks (a Node `Readable` is one). */
export type BlobBody = Uint8Array | AsyncIterable<Uint8Array>;

/** What the claim check tells a store about an object it puts. */
export interface BlobInfo {
  /** The payload's length in bytes. */
  readonly size: number;
  /** Its SHA-256 digest, lower-case hex (the consumer checks it again on the way back). */
  readonly sha256: string;
  /** The codec's content type of the payload (`application/json` for the default codec). */
  readonly contentType: string;
}

/**
 * Where the `claimCheck` middleware keeps payloads too large for the broker. Implement it for any
 * storage (GCS, Azure Blob, a database table); `fileBlobStore` (core) and `s3BlobStore`
 * (`@omnibus/s3-store`) are two.
 *
 * Keys are made by the middleware: `<prefix><queue|topic>/<destination>/<UUID v7>`, of the
 * characters `A-Z a-z 0-9 . _ - /`, a new one for every payload, so `put` never overwrites one
 * that a message refers to. A key read from a received message may be anything a sender wrote:
 * a store must refuse (throw) a key it could not have made rather than read outside its space.
 */
export interface BlobStore {
  /**
   * Names the store in every reference (`fs`, `s3:<bucket>`); a consumer refuses a reference
   * naming another store with a `DecodeError`.
   */
  readonly name: string;
  /** Store `body` under `key`; resolves once it is durable enough for a consumer to read it. */
  put(key: string, body: Uint8Array, info: BlobInfo): Promise<void>;
  /**
   * The object under `key`, whole or streamed (chunks are copied once, into the buffer the codec
   * decodes); `undefined` when there is none.
   */
  get(key: string): Promise<BlobBody | undefined>;
  /** Delete the object under `key`; resolves also when there is none. */
  delete(key: string): Promise<void>;
}

/** A key the claim check makes: slash-separated segments of `A-Z a-z 0-9 . _ -`, none `.` or `..`. */
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** Whether `key` has the shape of a key the claim check makes (at most 1024 characters). */
export function isBlobKey(key: unknown): key is string {
  if (typeof key !== "string" || key.length === 0 || key.length > 1024) return false;
  return key.split("/").every((segment) => SEGMENT.test(segment) && !segment.includes(".."));
}
