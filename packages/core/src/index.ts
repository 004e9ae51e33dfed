/**
 * `@omnibus/core`: one messaging API for every broker.
 * @module
 */
export { createClient } from "./client.js";
export { builtinCodecs, bytesCodec, jsonCodec, textCodec } from "./codec.js";
export type { Codec } from "./codec.js";
export { body, defineContract, isStandardSchema } from "./contract.js";
export type {
  BodyOf,
  BodySpec,
  BodyType,
  Contract,
  InputOf,
  QueueBody,
  QueueInput,
  QueueName,
  RequestBody,
  RequestInput,
  RequestName,
  RequestSpec,
  ResponseBody,
  ResponseInput,
  TopicBody,
  TopicInput,
  TopicName,
} from "./contract.js";
export {
  ClosedError,
  ConfigError,
  ConnectionError,
  DeadLetterError,
  DecodeError,
  ErrorCode,
  MessageTooLargeError,
  OmnibusError,
  PublishError,
  RemoteError,
  RequestTimeoutError,
  RetryLaterError,
  TimeoutError,
  UnsupportedFeatureError,
  ValidationError,
  isOmnibusError,
  maskUrl,
  redact,
} from "./errors.js";
export type { OmnibusErrorOptions } from "./errors.js";
export { idempotency } from "./idempotency/middleware.js";
export type { IdempotencyOptions } from "./idempotency/middleware.js";
export { memoryIdempotencyStore } from "./idempotency/memory-store.js";
export type { MemoryIdempotencyStoreOptions } from "./idempotency/memory-store.js";
export type { ClaimResult, IdempotencyStore } from "./idempotency/store.js";
export { shortId, uuidv7 } from "./ids.js";
export { consoleLogger, silentLogger } from "./logger.js";
export type { LogLevel, Logger } from "./logger.js";
export { validateName } from "./names.js";
export { adapterPackages, urlScheme } from "./resolve.js";
export { backoffDelay, defaultRetryPolicy, resolveRetryPolicy } from "./retry.js";
export type { RetryOptions, RetryPolicy } from "./retry.js";
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
} from "./spi.js";
export { Headers } from "./types.js";
export type {
  BatchItem,
  Client,
  ClientOptions,
  ConsumeContext,
  ConsumerOptions,
  Handler,
  Message,
  Middleware,
  RequestOptions,
  SendContext,
  SendOptions,
  SubscribeOptions,
  Subscription,
} from "./types.js";
