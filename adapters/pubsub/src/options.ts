/**
 * Options of the Pub/Sub adapter, declared once with the adapter kit; the URL form
 * `pubsub://<project>[?emulatorHost=host:port&leaseMs=…]`.
 * @module
 */
import type { ClientConfig } from "@google-cloud/pubsub";
import { ConfigError, redact } from "@omnibus/core";
import { defineOptions, option, type Resolved } from "@omnibus/core/adapter";

/**
 * Options of {@link pubsub}. Every field is optional; `pubsub()` fills in the defaults.
 */
export interface PubsubOptions {
  /**
   * `pubsub://<project>[?emulatorHost=host:port&…]`; any other option may be a query parameter
   * too (explicit options win). The project may also come from {@link PubsubOptions.projectId}.
   * @default "pubsub://omnibus"
   */
  url?: string;
  /** The Google Cloud project; wins over the URL's. @default the URL's project, else "omnibus" */
  projectId?: string;
  /**
   * `host:port` of a Pub/Sub emulator (plain-text gRPC, no credentials). Without it (and without
   * `PUBSUB_EMULATOR_HOST` in the environment, read as Google's own clients do) the adapter talks
   * to Google Cloud with Application Default Credentials.
   * @default process.env.PUBSUB_EMULATOR_HOST
   */
  emulatorHost?: string;
  /**
   * The lease of a delivery: unsettled for this long (the consumer gone), the message goes to
   * another consumer. The adapter extends the lease of deliveries still being handled every third
   * of it (`modifyAckDeadline`), so a slow handler causes no duplicate. Whole seconds on the wire
   * (rounded up), 10 s to 600 s for a subscription's own deadline.
   * @default 10000
   */
  leaseMs?: number;
  /**
   * A send rejects with a `PublishError` when Pub/Sub has not acknowledged it within this time
   * (retries of the client included).
   * @default 10000
   */
  publishTimeoutMs?: number;
  /**
   * Most messages being published and not acknowledged over all sends of this adapter; further
   * sends wait (back-pressure).
   * @default 10000
   */
  maxInFlight?: number;
  /**
   * Create subscriptions with message ordering, so that messages of one key (Pub/Sub's ordering
   * key) are delivered in publish order: `features.orderingByKey`. Off by default because of what
   * Pub/Sub does on a nack with ordering on: it redelivers the messages published after the nacked
   * one for its key, acknowledged or not (and the emulator treats messages without a key as one
   * key: a retried message then brings back every later one, measured). A subscription keeps the
   * setting it was created with.
   * @default false
   */
  messageOrdering?: boolean;
  /**
   * Deliveries after which Pub/Sub itself moves a message to {@link PubsubOptions.deadLetterTopic}
   * (the subscriptions' dead-letter policy, 5 to 100). Core dead-letters first with its own retry
   * policy; the policy is there because only with it does Pub/Sub count delivery attempts.
   * @default 100
   */
  maxDeliveryAttempts?: number;
  /**
   * The topic of the subscriptions' dead-letter policy, created with a subscription of the same
   * name so that what lands there is kept.
   * @default "omnibus.dead-letters"
   */
  deadLetterTopic?: string;
  /**
   * Extra client configuration for `new PubSub()` (credentials, endpoint, gRPC options). Wins
   * over what the adapter sets.
   * @default {}
   */
  clientConfig?: ClientConfig;
}

const SPECS = {
  projectId: option.string({ default: "", empty: true, pattern: /^([a-z][a-z0-9-]{0,62})?$/ }),
  emulatorHost: option.string({
    default: "",
    empty: true,
    pattern: /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}$|^$/,
  }),
  leaseMs: option.ms({ default: 10_000, min: 1_000, max: 600_000 }),
  publishTimeoutMs: option.ms({ default: 10_000, min: 100 }),
  maxInFlight: option.int({ default: 10_000, min: 1 }),
  messageOrdering: option.bool({ default: false }),
  maxDeliveryAttempts: option.int({ default: 100, min: 5, max: 100 }),
  deadLetterTopic: option.string({
    default: "omnibus.dead-letters",
    pattern: /^[A-Za-z][A-Za-z0-9._~+%-]{2,254}$/,
  }),
  clientConfig: option.value<ClientConfig>({
    default: {},
    check: (v) => typeof v === "object" && v !== null,
    expects: "an object",
  }),
};

const OPTIONS = defineOptions("pubsub", SPECS);

/** {@link PubsubOptions} with every default applied and the URL parsed. */
export type ResolvedOptions = Resolved<typeof SPECS> & { readonly url: string };

/** The default URL: project `omnibus`. */
export const DEFAULT_URL = "pubsub://omnibus";

/** Validate `options` (and the URL in them) and fill in every default. */
export function resolveOptions(options: PubsubOptions = {}): ResolvedOptions {
  if (typeof options !== "object" || options === null)
    throw new ConfigError("pubsub: options must be an object");
  const url = options.url ?? DEFAULT_URL;
  if (typeof url !== "string") throw new ConfigError("pubsub: url must be a string");
  const match = /^pubsub:\/\/([^/?#@]*)\/?(?:\?([^#]*))?$/i.exec(url.trim());
  if (!match)
    throw new ConfigError(
      `pubsub: invalid URL ${JSON.stringify(redact(url))}: expected pubsub://<project>[?…]`,
    );
  const project = match[1]!;
  if (project !== "" && !/^[a-z][a-z0-9-]{0,62}$/.test(project))
    throw new ConfigError(
      `pubsub: invalid URL ${JSON.stringify(redact(url))}: the project must be a Google Cloud project id (lower-case letters, digits, -)`,
    );
  const { url: _url, ...rest } = options;
  const { values } = OPTIONS.resolve(rest as Record<string, unknown>, new URLSearchParams(match[2] ?? ""));
  return {
    ...values,
    url,
    projectId: values.projectId || project || "omnibus",
    emulatorHost: values.emulatorHost || process.env.PUBSUB_EMULATOR_HOST || "",
  };
}
