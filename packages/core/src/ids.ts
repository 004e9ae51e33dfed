import { randomBytes, randomUUID } from "node:crypto";

// Random bytes are drawn 4 KiB at a time: one system call per 256 ids instead of one per id.
let pool = randomBytes(4096);
let poolOffset = pool.length;

/**
 * A UUID version 7 (time-ordered, RFC 9562): sortable by creation time, unique without
 * coordination. Used for message ids.
 */
export function uuidv7(now: number = Date.now()): string {
  if (poolOffset + 16 > pool.length) {
    pool = randomBytes(4096);
    poolOffset = 0;
  }
  const bytes = pool.subarray(poolOffset, poolOffset + 16);
  poolOffset += 16;
  bytes[0] = (now / 2 ** 40) & 0xff;
  bytes[1] = (now / 2 ** 32) & 0xff;
  bytes[2] = (now >>> 24) & 0xff;
  bytes[3] = (now >>> 16) & 0xff;
  bytes[4] = (now >>> 8) & 0xff;
  bytes[5] = now & 0xff;
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A short random id for client instances and inboxes. */
export function shortId(): string {
  return randomUUID().replaceAll("-", "").slice(0, 12);
}
