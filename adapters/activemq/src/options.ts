/**
 * Options of the ActiveMQ Artemis adapter, declared once with the adapter kit (`defineOptions`),
 * and its URL (`activemq://` or `amqp10://`, parsed by `parseBrokerUrl`).
 * @module
 */
import { ConfigError } from "@omnibus/core";
import { defineOptions, option, parseBrokerUrl } from "@omnibus/core/adapter";

/** Options of {@link activemq}. Every field is optional. */
export interface ActiveMQOptions {
  /**
   * Broker URL: `activemq://[user:password@]host[:port][?…]` (or `amqp10://`; `activemqs://` and
   * `amqp10s://` for TLS). Credentials are percent-encoded; with none, SASL ANONYMOUS is used.
   * Query parameters: any option below whose value is a number or a boolean.
   * @default "activemq://127.0.0.1:61616"
   */
  url?: string;
  /**
   * A send rejects with a `PublishError` when the broker has not accepted a message within this
   * time, including time spent disconnected.
   * @default 10000
   */
  publishTimeoutMs?: number;
  /**
   * How long `connect()` waits for the broker's AMQP open before it fails with a `ConnectionError`.
   * @default 5000
   */
  connectTimeoutMs?: number;
  /**
   * Largest delay between two reconnection attempts (they start at 100 ms and double).
   * @default 1000
   */
  maxReconnectDelayMs?: number;
  /**
   * Largest message (body + headers) the adapter sends, in bytes (`features.maxMessageBytes`).
   * @default 1048576
   */
  maxMessageBytes?: number;
  /**
   * The AMQP container id of the connection (shown by the broker's console); a unique suffix is added.
   * @default "omnibus"
   */
  containerId?: string;
}

/** The option declarations (the kit checks and resolves them). */
export const OPTIONS = defineOptions("activemq", {
  url: option.string({ default: "activemq://127.0.0.1:61616", url: false }),
  publishTimeoutMs: option.ms({ default: 10_000, min: 100 }),
  connectTimeoutMs: option.ms({ default: 5_000, min: 100 }),
  maxReconnectDelayMs: option.ms({ default: 1_000, min: 10 }),
  maxMessageBytes: option.int({ default: 1_048_576, min: 1024, max: 100 * 1_048_576 }),
  containerId: option.string({ default: "omnibus", pattern: /^[A-Za-z0-9._-]{1,64}$/ }),
});

/** The URL schemes of the adapter. */
export const SCHEMES = ["activemq", "activemqs", "amqp10", "amqp10s"] as const;

/** {@link ActiveMQOptions} with every default applied and the URL parsed: what the adapter runs with. */
export interface Settings {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly publishTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxReconnectDelayMs: number;
  readonly maxMessageBytes: number;
  readonly containerId: string;
}

/** Check `options` (and the URL's parameters) and fill in the defaults; `ConfigError` otherwise. */
export function resolveOptions(options: ActiveMQOptions = {}): Settings {
  if (typeof options !== "object" || options === null)
    throw new ConfigError("activemq: options must be an object");
  const url = options.url ?? "activemq://127.0.0.1:61616";
  const parsed = parseBrokerUrl(url, { schemes: SCHEMES, defaultPort: 61616, adapter: "activemq" });
  const { values } = OPTIONS.resolve(options as Record<string, unknown>, parsed.params);
  return {
    url,
    host: parsed.hosts[0]!.host,
    port: parsed.hosts[0]!.port,
    tls: parsed.scheme.endsWith("s"),
    username: parsed.username,
    password: parsed.password,
    publishTimeoutMs: values.publishTimeoutMs,
    connectTimeoutMs: values.connectTimeoutMs,
    maxReconnectDelayMs: values.maxReconnectDelayMs,
    maxMessageBytes: values.maxMessageBytes,
    containerId: values.containerId,
  };
}
