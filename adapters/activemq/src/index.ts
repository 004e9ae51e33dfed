/**
 * `@omnibus/activemq`: the Apache ActiveMQ Artemis adapter of Omnibus, over AMQP 1.0 with
 * [rhea](https://github.com/amqp/rhea). URLs: `activemq://` and `amqp10://` (`activemqs://`,
 * `amqp10s://` with TLS); `amqp://` stays RabbitMQ's.
 *
 * @module
 */
import type { Adapter } from "@omnibus/core";
import { registerAdapter } from "@omnibus/core/adapter";
import { ActiveMQAdapter, type ActiveMQNative } from "./adapter.js";
import { type ActiveMQOptions, resolveOptions, SCHEMES } from "./options.js";

/**
 * Create an ActiveMQ Artemis adapter. Nothing connects until core calls `connect()`.
 *
 * @example
 * ```ts
 * import { createClient } from "@omnibus/core";
 * import { activemq } from "@omnibus/activemq";
 *
 * const bus = createClient({ adapter: activemq({ url: "activemq://artemis:artemis@127.0.0.1:61616" }) });
 * await bus.send("orders", { sku: "A-1" });
 * ```
 */
export function activemq(options: ActiveMQOptions = {}): Adapter<ActiveMQNative> {
  return new ActiveMQAdapter(resolveOptions(options));
}

/**
 * Build the adapter for an `activemq://` or `amqp10://` URL; `createClient({ url })` calls this.
 * `options` are {@link ActiveMQOptions} (the URL wins over `options.url`).
 */
export function fromUrl(url: string, options: Record<string, unknown> = {}): Adapter<ActiveMQNative> {
  return activemq({ ...(options as ActiveMQOptions), url });
}

export type { ActiveMQNative } from "./adapter.js";
export type { ActiveMQOptions } from "./options.js";

// Importing the package makes its URLs known to createClient.
registerAdapter(SCHEMES, { fromUrl });
