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
