/**
 * `@omnibus/pubsub`: the Google Cloud Pub/Sub adapter of Omnibus, on `@google-cloud/pubsub`,
 * proved against Google's Pub/Sub emulator.
 *
 * @module
 */
import { type Adapter, registerAdapter } from "@omnibus/core";
import { PubsubAdapter, type PubsubNative } from "./adapter.js";
import { type PubsubOptions, resolveOptions } from "./options.js";

/**
 * Create a Pub/Sub adapter. Nothing connects until core calls `connect()`.
 *
 * @example
 * ```ts
 * import { createClient } from "@omnibus/core";
 * import { pubsub } from "@omnibus/pubsub";
 *
 * const bus = createClient({ adapter: pubsub({ projectId: "my-project", emulatorHost: "127.0.0.1:8085" }) });
 * await bus.send("orders", { sku: "A-1" });
 * ```
 */
export function pubsub(options: PubsubOptions = {}): Adapter<PubsubNative> {
  return new PubsubAdapter(resolveOptions(options));
}

/**
 * Build the adapter for a `pubsub://<project>` URL; `createClient({ url: "pubsub://…" })` calls
 * this. `options` are {@link PubsubOptions} (the URL wins over `options.url`).
 */
export function fromUrl(url: string, options: Record<string, unknown> = {}): Adapter<PubsubNative> {
  return pubsub({ ...(options as PubsubOptions), url });
}

export type { PubsubNative } from "./adapter.js";
export type { PubsubOptions } from "./options.js";

// Importing the package makes its URLs checked at createClient (core loads it lazily too).
registerAdapter("pubsub", { fromUrl });
