/**
 * `@omnibus/core`: one messaging API for every broker.
 * @module
 * @mergeModuleWith <project>
 */
export type { FileBlobStore, FileBlobStoreOptions } from "./claim-check/file-store.js";
export { fileBlobStore } from "./claim-check/file-store.js";
export type { ClaimCheckOptions, ClaimCheckReference } from "./claim-check/middleware.js";
export { CLAIM_CHECK_CONTENT_TYPE, claimCheck } from "./claim-check/middleware.js";
export type { BlobBody, BlobInfo, BlobStore } from "./claim-check/store.js";
export { isBlobKey } from "./claim-check/store.js";
export { createClient, INBOX_PREFIX } from "./client/client.js";
export type { Codec } from "./codec.js";
export { builtinCodecs, bytesCodec, jsonCodec, textCodec } from "./codec.js";
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
export { body, defineContract, isStandardSchema } from "./contract.js";
export type { OmnibusErrorOptions } from "./errors.js";
export {
  ClosedError,
  ConfigError,
  ConnectionError,
  DeadLetterError,
  DecodeError,
  ErrorCode,
  isOmnibusError,
  MessageTooLargeError,
  maskUrl,
  OmnibusError,
  PublishError,
  RemoteError,
  RequestTimeoutError,
  RetryLaterError,
  redact,
  UnsupportedFeatureError,
  ValidationError,
} from "./errors.js";
export type { MemoryIdempotencyStoreOptions } from "./idempotency/memory-store.js";
export { memoryIdempotencyStore } from "./idempotency/memory-store.js";
export type { IdempotencyOptions } from "./idempotency/middleware.js";
export { idempotency } from "./idempotency/middleware.js";
export type { ClaimResult, IdempotencyStore } from "./idempotency/store.js";
export { shortId, uuidv7 } from "./ids.js";
export type { Logger, LogLevel } from "./logger.js";
export { consoleLogger, silentLogger } from "./logger.js";
export { deadLetterQueueFor, validateName } from "./names.js";
export type { AdapterModule, AdapterSource } from "./resolve.js";
export { knownSchemes, registerAdapter } from "./resolve.js";
export type { RetryOptions, RetryPolicy } from "./retry.js";
export { backoffDelay, defaultRetryPolicy, resolveRetryPolicy } from "./retry.js";
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
  SourceStats,
  TopicAddress,
} from "./spi.js";
export { SEMCONV_VERSION } from "./telemetry/telemetry.js";
export type {
  BatchItem,
  Client,
  ClientOptions,
  ConsumeContext,
  ConsumerHealth,
  ConsumerOptions,
  DeleteOptions,
  DeleteTopicOptions,
  DestinationStats,
  Handler,
  HealthReport,
  InboundContext,
  Message,
  Middleware,
  OutboundContext,
  RequestOptions,
  SendContext,
  SendOptions,
  StatsOptions,
  SubscribeOptions,
  Subscription,
  TelemetryOptions,
} from "./types.js";
export { HeaderNames } from "./types.js";
