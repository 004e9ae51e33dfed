/**
 * `@omnibus/example-adapter-skeleton`: an Omnibus adapter to start a new one from. It drives a
 * simple in-process store (store.ts) where yours drives a broker: each `TODO(broker)` marks a call
 * to replace. Read "Writing an adapter" in packages/core/README.md first.
 * @module
 */
import { type Adapter, ConfigError, registerAdapter } from "@omnibus/core";
import { SkeletonAdapter, type SkeletonNative, type SkeletonOptions } from "./adapter.js";

/** The factory: `createClient({ adapter: skeleton({ leaseMs: 5_000 }) })`. */
export function skeleton(options: SkeletonOptions = {}): Adapter<SkeletonNative> {
  const { leaseMs } = options;
  if (leaseMs !== undefined && !(Number.isInteger(leaseMs) && leaseMs >= 100))
    throw new ConfigError(`skeleton: leaseMs must be an integer >= 100, got ${String(leaseMs)}`);
  return new SkeletonAdapter(options);
}

/**
 * What core calls for `skeleton://<store>?leaseMs=N` (`createClient({ url })`). Check the URL and
 * options here with `ConfigError`s, which createClient then throws at once. Keep the URL (and
 * its password) out of messages and causes: Node's URL error holds the input.
 */
export function fromUrl(url: string, options: Record<string, unknown> = {}): Adapter<SkeletonNative> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError("skeleton: invalid URL");
  }
  if (parsed.protocol !== "skeleton:") throw new ConfigError("skeleton: not a skeleton:// URL");
  const fromQuery: SkeletonOptions = { name: decodeURIComponent(parsed.host) || "default" };
  for (const [key, value] of parsed.searchParams) {
    if (key !== "leaseMs") throw new ConfigError(`skeleton: unknown URL parameter "${key}" (known: leaseMs)`);
    fromQuery.leaseMs = Number(value);
  }
  return skeleton({ ...fromQuery, ...(options as SkeletonOptions) });
}

// Importing the package makes `skeleton:` URLs known to createClient (for every client; one
// client alone can take `adapters: { skeleton: { fromUrl } }` instead).
registerAdapter("skeleton", { fromUrl });

export type { SkeletonNative, SkeletonOptions } from "./adapter.js";
