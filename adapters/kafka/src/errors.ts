import {
  ConfigError,
  ConnectionError,
  MessageTooLargeError,
  OmnibusError,
  PublishError,
} from "@omnibus/core";

const TOO_LARGE = new Set(["MESSAGE_TOO_LARGE", "RECORD_LIST_TOO_LARGE"]);
const CONFIG = new Set([
  "INVALID_TOPIC_EXCEPTION",
  "INVALID_PARTITIONS",
  "INVALID_REPLICATION_FACTOR",
  "INVALID_CONFIG",
  "POLICY_VIOLATION",
  "TOPIC_AUTHORIZATION_FAILED",
  "GROUP_AUTHORIZATION_FAILED",
  "CLUSTER_AUTHORIZATION_FAILED",
]);

/** The innermost kafkajs protocol error type (`MESSAGE_TOO_LARGE`, …), if any. */
export function protocolType(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current !== null && typeof current === "object"; depth++) {
    const e = current as { type?: unknown; originalError?: unknown; cause?: unknown; errors?: unknown };
    if (typeof e.type === "string") return e.type;
    if (Array.isArray(e.errors) && e.errors.length > 0) current = e.errors[0];
    else current = e.originalError ?? e.cause;
  }
  return undefined;
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Translate an error from a send into core's classes. */
export function publishError(error: unknown, what: string): Error {
  if (error instanceof OmnibusError) return error;
  const type = protocolType(error);
  if (type !== undefined && TOO_LARGE.has(type)) {
    return new MessageTooLargeError(`kafka: broker refused ${what}: ${type}`, { cause: error });
  }
  if (type !== undefined && CONFIG.has(type)) {
    return new ConfigError(`kafka: broker refused ${what}: ${type}`, { cause: error });
  }
  return new PublishError(`kafka: ${what} failed: ${describe(error)}`, { cause: error });
}

/** Translate an error from connecting, admin requests or consumers into core's classes. */
export function connectionError(error: unknown, what: string): Error {
  if (error instanceof OmnibusError) return error;
  const type = protocolType(error);
  if (type !== undefined && CONFIG.has(type)) {
    return new ConfigError(`kafka: ${what}: ${type}`, { cause: error });
  }
  return new ConnectionError(`kafka: ${what}: ${describe(error)}`, { cause: error });
}

/** The innermost error of a kafkajs error's cause chain. */
function innermost(error: unknown): unknown {
  let current: unknown = error;
  for (let depth = 0; depth < 8; depth++) {
    if (current === null || typeof current !== "object") return current;
    const e = current as { type?: unknown; originalError?: unknown; cause?: unknown; errors?: unknown };
    if (typeof e.type === "string") return current;
    const next = Array.isArray(e.errors) && e.errors.length > 0 ? e.errors[0] : (e.originalError ?? e.cause);
    if (next === undefined || next === null || next === current) return current;
    current = next;
  }
  return current;
}

/**
 * The broker refused the producer's sequence numbers or producer id: a new producer id is needed
 * (the records of the refusing partitions were not written).
 */
const SEQUENCE = new Set([
  "OUT_OF_ORDER_SEQUENCE_NUMBER",
  "DUPLICATE_SEQUENCE_NUMBER",
  "UNKNOWN_PRODUCER_ID",
  "INVALID_PRODUCER_EPOCH",
  "INVALID_PRODUCER_ID_MAPPING",
  "PRODUCER_FENCED",
]);

/** kafkajs errors without a protocol error code that say nothing about the records themselves. */
const TRANSIENT = new Set([
  "KafkaJSConnectionError",
  "KafkaJSConnectionClosedError",
  "KafkaJSRequestTimeoutError",
  "KafkaJSMetadataNotLoaded",
  "KafkaJSTopicMetadataNotLoaded",
  "KafkaJSBrokerNotFound",
  "KafkaJSNoBrokerAvailableError",
  "KafkaJSLockTimeout",
  "KafkaJSNumberOfRetriesExceeded",
]);

/**
 * Whether a kafkajs error may pass by itself: the network (refused, reset, timed out), a leader or
 * coordinator moving or loading, or a retriable broker error. Not: what the request itself caused
 * (too large, not allowed, no such topic), refused sequence numbers, or errors that are not
 * kafkajs's.
 */
export function isTransient(error: unknown): boolean {
  const inner = innermost(error) as { type?: unknown; name?: unknown; retriable?: unknown } | null;
  if (inner === null || typeof inner !== "object") return false;
  if (typeof inner.type === "string") {
    if (SEQUENCE.has(inner.type) || TOO_LARGE.has(inner.type) || CONFIG.has(inner.type)) return false;
    if (inner.type === "UNKNOWN_TOPIC_OR_PARTITION") return false;
    return inner.retriable === true;
  }
  const name = typeof inner.name === "string" ? inner.name : "";
  if (TRANSIENT.has(name)) return true;
  return name.startsWith("KafkaJS") && inner.retriable === true;
}

/**
 * What a failed produce request calls for (see `SendQueue`): sent again as it was (the network, a
 * leader, a timeout: it may or may not have been written), sent again by a new producer (the
 * broker refused the sequence numbers), or failed (the records themselves were refused, the topic
 * is gone, or the error is not kafkajs's).
 */
export function produceFailure(error: unknown): "retry" | "renew" | "fail" {
  const inner = innermost(error) as { type?: unknown } | null;
  if (typeof inner?.type === "string" && SEQUENCE.has(inner.type)) return "renew";
  return isTransient(error) ? "retry" : "fail";
}

/**
 * A consumer crash kafkajs does not recover from by itself that nothing will mend either: not
 * allowed, misconfigured. Anything else is worth starting the consumer again for.
 */
export function isPermanent(error: unknown): boolean {
  const type = protocolType(error);
  return type !== undefined && CONFIG.has(type);
}
