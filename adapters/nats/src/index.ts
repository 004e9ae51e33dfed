/**
 * `@omnibus/nats`: the NATS JetStream adapter of Omnibus, on the maintained client line
 * `@nats-io/transport-node` + `@nats-io/jetstream`.
 *
 * @module
 */
import { type Adapter, registerAdapter } from "@omnibus/core";
import { NatsAdapter, type NatsNative } from "./adapter.js";
import { type NatsOptions, resolveOptions } from "./options.js";

/**
 * Create a NATS JetStream adapter. Nothing connects until core calls `connect()`.
 *
 * @example
 * ```ts
 * import { createClient } from "@omnibus/core";
 * import { nats } from "@omnibus/nats";
 *
 * const bus = createClient({ adapter: nats({ url: "nats://127.0.0.1:4222" }) });
 * await bus.send("orders", { sku: "A-1" });
 * ```
 */
export function nats(options: NatsOptions = {}): Adapter<NatsNative> {
  return new NatsAdapter(resolveOptions(options));
}

/**
 * Build the adapter for a `nats://` URL; `createClient({ url: "nats://…" })` calls this.
 * `options` are {@link NatsOptions} (the URL wins over `options.url`).
 */
export function fromUrl(url: string, options: Record<string, unknown> = {}): Adapter<NatsNative> {
  return nats({ ...(options as NatsOptions), url });
}

export type { NatsNative } from "./adapter.js";
export type { NatsOptions } from "./options.js";

// Importing the package makes its URLs checked at createClient (core loads it lazily too).
registerAdapter("nats", { fromUrl });
