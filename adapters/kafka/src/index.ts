/**
 * `@omnibus/kafka`: the Apache Kafka adapter for `@omnibus/core`, on kafkajs.
 *
 * @example
 * ```ts
 * import { createClient } from "@omnibus/core";
 * import { kafka } from "@omnibus/kafka";
 *
 * const bus = createClient({ adapter: kafka({ brokers: ["127.0.0.1:9092"] }) });
 * ```
 *
 * @module
 */
import { type Adapter, ConfigError, maskUrl, registerAdapter } from "@omnibus/core";
import { KafkaAdapter, type KafkaNative } from "./adapter.js";
import { type KafkaOptions, resolveOptions } from "./options.js";

/**
 * Create a Kafka adapter. Nothing connects until core calls `connect()`.
 *
 * @example
 * ```ts
 * const adapter = kafka({ brokers: "kafka://127.0.0.1:9092?partitions=6" });
 * ```
 */
export function kafka(options: KafkaOptions = {}): Adapter<KafkaNative> {
  return new KafkaAdapter(resolveOptions(options));
}

/**
 * Build the adapter from a URL: `kafka://[user:pass@]host[:port][,host[:port]…][?param=value…]`
 * (`kafkas://` for TLS). Query parameters: `clientId`, `partitions`, `replicationFactor`,
 * `groupIdPrefix`, `ssl`, `mechanism` (SASL: `plain`, `scram-sha-256`, `scram-sha-512`),
 * `commitIntervalMs`, `maxMessageBytes`, `maxDelayMs`, `sessionTimeoutMs`, `heartbeatIntervalMs`,
 * `maxWaitTimeMs`, `idempotent`, `deliveryTimeoutMs`. `options` override the URL; keys this adapter does not know are
 * ignored.
 *
 * @example
 * ```ts
 * const adapter = fromUrl("kafka://127.0.0.1:9092");
 * ```
 */
export function fromUrl(url: string, options: Record<string, unknown> = {}): Adapter<KafkaNative> {
  if (typeof url !== "string" || !/^kafkas?:\/\//i.test(url)) {
    throw new ConfigError(`kafka: expected a kafka:// URL, got ${maskUrl(String(url))}`);
  }
  const known: Record<string, unknown> = {};
  for (const name of OPTION_NAMES) if (options[name] !== undefined) known[name] = options[name];
  return kafka({ ...(known as KafkaOptions), brokers: url });
}

const OPTION_NAMES: readonly (keyof KafkaOptions)[] = [
  "clientId",
  "ssl",
  "sasl",
  "partitions",
  "replicationFactor",
  "groupIdPrefix",
  "commitIntervalMs",
  "maxMessageBytes",
  "maxDelayMs",
  "maxScheduled",
  "maxBufferedBytes",
  "maxRequestBytes",
  "deliveryTimeoutMs",
  "idempotent",
  "sessionTimeoutMs",
  "heartbeatIntervalMs",
  "rebalanceTimeoutMs",
  "maxWaitTimeMs",
  "connectionTimeoutMs",
  "retries",
  "logger",
];

export type { KafkaNative } from "./adapter.js";
export type { KafkaNativeMessage } from "./consumer.js";
export type { KafkaLogger, KafkaOptions } from "./options.js";

// Importing the package makes its URLs checked at createClient (core loads it lazily too).
registerAdapter("kafka", { fromUrl });
