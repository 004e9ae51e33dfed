import { createHash } from "node:crypto";
import { jsonCodec } from "../codec.js";
import { headerBytes } from "../consumer/outcome.js";
import { ConfigError, DecodeError } from "../errors.js";
import { uuidv7 } from "../ids.js";
import type { Logger } from "../logger.js";
import { HeaderNames, type Middleware } from "../types.js";
import { type BlobBody, type BlobStore, isBlobKey } from "./store.js";

/**
 * The content type of a message whose body is a claim-check reference. A consumer without the
 * middleware has no codec for it: it dead-letters the message (`OMNIBUS_DECODE`) instead of
 * handing the reference to its handler as if it were the payload.
 */
export const CLAIM_CHECK_CONTENT_TYPE = "application/vnd.omnibus.claim-check+json";

/** The reference a claim-checked message carries instead of its payload (the body, as JSON). */
export interface ClaimCheckReference {
  /** The format: 1. */
  readonly v: 1;
  /** The store's name (`BlobStore.name`). */
  readonly store: string;
  /** The payload's key in the store. */
  readonly key: string;
  /** The payload's length in bytes. */
  readonly size: number;
  /** The payload's SHA-256, lower-case hex. */
  readonly sha256: string;
  /** The payload's content type, when not JSON (the wire default). */
  readonly type?: string;
}

/** Options of {@link claimCheck}. */
export interface ClaimCheckOptions {
  /** Where payloads go. Producers and consumers need the same store. */
  store: BlobStore;
  /**
   * Offload a message whose encoded body plus headers is larger than this many bytes. 0 offloads
   * every message. @default the adapter's `maxMessageBytes` less 8 KiB (less half of it, for a
   * limit under 16 KiB), room left for dead-letter headers
   */
  thresholdBytes?: number;
  /**
   * Delete a queue message's payload once the message was acked after its handler succeeded.
   * `false` never deletes: leave it to the store's expiry (an S3 bucket lifecycle rule). Topic
   * payloads are never deleted by consumers (see the README: every group holds the same
   * reference, and core cannot count a topic's groups on every broker). @default true
   */
  deleteAfterAck?: boolean;
  /** Prefix of every key (e.g. `"orders-service/"`). @default "" */
  prefix?: string;
  /**
   * The largest payload a consumer fetches; a reference claiming more is a `DecodeError`.
   * @default 2 GiB
   */
  maxPayloadBytes?: number;
  /** Where to report payloads that could not be deleted after an ack. */
  logger?: Logger;
}

/** Headroom below `maxMessageBytes` by default: dead-letter headers must still fit a reference. */
const RESERVE = 8 * 1024;

/**
 * Claim check: a message too large for the broker travels as a small reference while its payload
 * goes to a {@link BlobStore}. On send, an encoded body (plus headers) over `thresholdBytes` is
 * put in the store under a new key and replaced by a reference `{ v, store, key, size, sha256 }`
 * (content type {@link CLAIM_CHECK_CONTENT_TYPE}, header `omnibus-claim-check: v1`). On receive,
 * the payload is fetched and its size and SHA-256 checked before decoding, so handlers see the
 * message as it was sent (`body`, `rawBody`, the original content type) — plus the
 * `omnibus-claim-check` header. A missing payload, a digest or size mismatch, a malformed
 * reference or one naming another store is a `DecodeError`: the message is dead-lettered at once
 * (`OMNIBUS_DECODE`) with the reference, the payload is kept. A store that fails is a failed
 * attempt (retried, then dead-lettered). Queue payloads are deleted once acked (see
 * `deleteAfterAck`); dead-lettered messages keep theirs, so their DLQ copy can still be read.
 *
 * @example
 * ```ts
 * const store = fileBlobStore({ directory: "/var/lib/app/payloads" });
 * const bus = createClient({ url, use: [claimCheck({ store })] });
 * await bus.send("invoices", { pdf: hugeBase64 }); // over the broker's limit: goes to the store
 * ```
 */
export function claimCheck(options: ClaimCheckOptions): Middleware {
  const store = options?.store;
  if (
    typeof store !== "object" ||
    store === null ||
    typeof store.put !== "function" ||
    typeof store.get !== "function" ||
    typeof store.delete !== "function" ||
    typeof store.name !== "string"
  ) {
    throw new ConfigError("claimCheck() needs a store with name, put, get and delete");
  }
  const threshold = options.thresholdBytes;
  if (threshold !== undefined && !(Number.isInteger(threshold) && threshold >= 0))
    throw new ConfigError(`thresholdBytes must be an integer >= 0, got ${String(threshold)}`);
  const prefix = options.prefix ?? "";
  if (typeof prefix !== "string" || !isBlobKey(`${prefix}queue/q/k`))
    throw new ConfigError(
      `prefix ${JSON.stringify(prefix)}: use segments of A-Z a-z 0-9 . _ - ending with "/" (or "")`,
    );
  const maxPayload = options.maxPayloadBytes ?? 2 ** 31;
  if (!(Number.isInteger(maxPayload) && maxPayload > 0))
    throw new ConfigError(`maxPayloadBytes must be a positive integer, got ${String(maxPayload)}`);
  const deleteAfterAck = options.deleteAfterAck ?? true;
  return {
    name: "claim-check",
    async outbound(ctx) {
      const limit = threshold ?? ctx.maxMessageBytes - Math.min(RESERVE, Math.floor(ctx.maxMessageBytes / 2));
      if (ctx.body.byteLength + headerBytes(ctx.headers) <= limit) return;
      const payload = ctx.body;
      const sha256 = createHash("sha256").update(payload).digest("hex");
      const key = `${prefix}${ctx.kind}/${ctx.destination}/${uuidv7()}`;
      const type = ctx.headers[HeaderNames.ContentType];
      await store.put(key, payload, {
        size: payload.byteLength,
        sha256,
        contentType: type ?? jsonCodec.contentType,
      });
      const reference: ClaimCheckReference = {
        v: 1,
        store: store.name,
        key,
        size: payload.byteLength,
        sha256,
        ...(type === undefined ? {} : { type }),
      };
      ctx.body = new TextEncoder().encode(JSON.stringify(reference));
      ctx.headers[HeaderNames.ContentType] = CLAIM_CHECK_CONTENT_TYPE;
      ctx.headers[HeaderNames.ClaimCheck] = "v1";
    },
    async inbound(ctx) {
      if (ctx.headers[HeaderNames.ContentType] !== CLAIM_CHECK_CONTENT_TYPE) return;
      const reference = parseReference(ctx.body, store.name, maxPayload);
      const found = await store.get(reference.key);
      if (found === undefined)
        throw new DecodeError(`claim-check payload ${reference.key} is missing from store ${store.name}`);
      const payload = await collect(found, reference);
      const digest = createHash("sha256").update(payload).digest("hex");
      if (digest !== reference.sha256)
        throw new DecodeError(
          `claim-check payload ${reference.key} does not match its digest (sha256 ${digest}, the message says ${reference.sha256})`,
        );
      ctx.body = payload;
      if (reference.type === undefined) delete ctx.headers[HeaderNames.ContentType];
      else ctx.headers[HeaderNames.ContentType] = reference.type;
      if (deleteAfterAck && ctx.kind === "queue") {
        ctx.onAcked(async () => {
          try {
            await store.delete(reference.key);
          } catch (error) {
            options.logger?.warn("could not delete a claim-check payload; the store's expiry must", {
              key: reference.key,
              error,
            });
          }
        });
      }
    },
  };
}

/** The reference in a claim-checked body, checked field by field (`DecodeError`). */
function parseReference(body: Uint8Array, storeName: string, maxPayload: number): ClaimCheckReference {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch (error) {
    throw new DecodeError(`claim-check reference is not JSON: ${(error as Error).message}`, { cause: error });
  }
  const r = value as Partial<ClaimCheckReference> | null;
  const bad = (what: string) => new DecodeError(`claim-check reference: ${what}`);
  if (typeof r !== "object" || r === null) throw bad("not an object");
  if (r.v !== 1) throw bad(`unknown format ${JSON.stringify(r.v)}`);
  if (r.store !== storeName)
    throw bad(`names store ${JSON.stringify(r.store)}, this consumer's is ${JSON.stringify(storeName)}`);
  if (!isBlobKey(r.key)) throw bad("bad key");
  if (typeof r.size !== "number" || !Number.isInteger(r.size) || r.size < 0 || r.size > maxPayload)
    throw bad(`bad size ${JSON.stringify(r.size)} (at most ${maxPayload})`);
  if (typeof r.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(r.sha256)) throw bad("bad sha256");
  if (r.type !== undefined && typeof r.type !== "string") throw bad("bad type");
  return r as ClaimCheckReference;
}

/** The payload as one buffer of the reference's size (`DecodeError` when the size differs). */
async function collect(found: BlobBody, reference: ClaimCheckReference): Promise<Uint8Array> {
  const wrongSize = (size: number | string) =>
    new DecodeError(
      `claim-check payload ${reference.key} has ${size} bytes, the message says ${reference.size}`,
    );
  if (found instanceof Uint8Array) {
    if (found.byteLength !== reference.size) throw wrongSize(found.byteLength);
    return found;
  }
  // Streamed: copied once into a buffer of the announced size; more than that is refused early.
  const out = new Uint8Array(reference.size);
  let at = 0;
  for await (const chunk of found) {
    if (at + chunk.byteLength > reference.size) throw wrongSize(`more than ${reference.size}`);
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  if (at !== reference.size) throw wrongSize(at);
  return out;
}
