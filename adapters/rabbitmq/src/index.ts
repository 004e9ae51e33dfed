/**
 * `@omnibus/rabbitmq`: the RabbitMQ adapter of Omnibus, on amqplib.
 * @module
 */

export type { RabbitMQAdapter, RabbitMQNative } from "./adapter.js";

import { registerAdapter } from "@omnibus/core";
import { fromUrl } from "./adapter.js";

// Importing the package makes its URLs checked at createClient (core loads it lazily too).
registerAdapter(["amqp", "amqps"], { fromUrl });

export { fromUrl, INBOX_PREFIX, MAX_DELAY_MS, rabbitmq } from "./adapter.js";
export type { QueueType, RabbitMQOptions, ReconnectOptions } from "./options.js";
export { DEFAULT_URL } from "./options.js";
export { delayBucket, WireHeader } from "./wire.js";
