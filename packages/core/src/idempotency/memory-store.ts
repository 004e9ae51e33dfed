import { randomUUID } from "node:crypto";
import type { ClaimResult, IdempotencyStore } from "./store.js";

interface Entry {
  token: string | undefined; // undefined once done
  expiresAt: number;
}

/** Options of {@link memoryIdempotencyStore}. */
export interface MemoryIdempotencyStoreOptions {
  /** Clock, for tests. @default Date.now */
  now?: () => number;
  /** Entries kept at most; the oldest are dropped past it. @default 100000 */
  maxEntries?: number;
}

/**
 * An in-process idempotency store. Atomic within one process only: use a shared store
 * (`redisIdempotencyStore` from `@omnibus/redis`) when several processes consume.
 */
export function memoryIdempotencyStore(options: MemoryIdempotencyStoreOptions = {}): IdempotencyStore {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 100_000;
  const entries = new Map<string, Entry>();
  const live = (key: string): Entry | undefined => {
    const entry = entries.get(key);
    if (entry && entry.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };
  return {
    async claim(key, lockMs): Promise<ClaimResult> {
      const entry = live(key);
      if (entry) return entry.token === undefined ? { status: "done" } : { status: "in-progress" };
      const token = randomUUID();
      entries.set(key, { token, expiresAt: now() + lockMs });
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
      return { status: "claimed", token };
    },
    async complete(key, token, ttlMs) {
      const entry = live(key);
      if (entry?.token !== token) return;
      entries.delete(key);
      entries.set(key, { token: undefined, expiresAt: now() + ttlMs });
    },
    async release(key, token) {
      if (live(key)?.token === token) entries.delete(key);
    },
  };
}
