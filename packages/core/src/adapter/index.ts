/**
 * `@omnibus/core/adapter`: what an adapter author builds on — the SPI types, and the helpers
 * every driver needs (settle-once deliveries, promise memos that forget failures, a semaphore,
 * delays and backoff, group commit, declarative options, one URL parser, an injective name
 * mapping, core's size accounting). Applications import `@omnibus/core`; adapters import this.
 * @module
 */

export { INBOX_PREFIX } from "../client/client.js";
export { headerBytes } from "../consumer/outcome.js";
export { redact } from "../errors.js";
export { shortId, uuidv7, uuidv7Ms } from "../ids.js";
export { validateName } from "../names.js";
export type { AdapterModule, AdapterSource } from "../resolve.js";
export { registerAdapter } from "../resolve.js";
export type {
  Adapter,
  AdapterFactoryFromUrl,
  Address,
  ConsumeOptions,
  ConsumerHandle,
  Delivery,
  Features,
  InboundMessage,
  OutboundMessage,
  QueueAddress,
  Source,
  TopicAddress,
} from "../spi.js";
export type { GroupCommitOptions } from "./batch.js";
export { GroupCommit } from "./batch.js";
export type { Settlement } from "./delivery.js";
export { settleOnce } from "./delivery.js";
export type { BackoffOptions } from "./flow.js";
export { backoff, delay, Semaphore } from "./flow.js";
export type { NameMapperOptions } from "./names.js";
export { nameMapper } from "./names.js";
export { OnceByKey, once } from "./once.js";
export type { OptionSet, OptionSpec, Resolved } from "./options.js";
export { defineOptions, option } from "./options.js";
export { messageBytes } from "./size.js";
export type { BrokerUrl, ParseBrokerUrlOptions } from "./url.js";
export { parseBrokerUrl } from "./url.js";
