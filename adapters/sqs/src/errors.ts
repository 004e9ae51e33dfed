import { ConfigError, ConnectionError, type OmnibusError, PublishError } from "@omnibus/core";

/** The fields of an AWS SDK v3 (or Node network) error this adapter looks at. */
interface AwsErrorLike {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $fault?: "client" | "server";
  $metadata?: { httpStatusCode?: number };
}

function fields(error: unknown): AwsErrorLike {
  return typeof error === "object" && error !== null ? (error as AwsErrorLike) : {};
}

/** The error's AWS name / code, e.g. "QueueDoesNotExist". */
export function errorName(error: unknown): string {
  const e = fields(error);
  return e.name ?? e.Code ?? e.code ?? "Error";
}

/** SQS says the queue is not there (the JSON and the query protocol spell it differently). */
export function isQueueMissing(error: unknown): boolean {
  const e = fields(error);
  const names = [e.name, e.Code, e.code];
  return names.some(
    (n) =>
      n === "QueueDoesNotExist" ||
      n === "AWS.SimpleQueueService.NonExistentQueue" ||
      n === "NonExistentQueue",
  );
}

/** SNS / SQS say a resource is not there. */
export function isNotFound(error: unknown): boolean {
  const e = fields(error);
  return (
    isQueueMissing(error) ||
    e.name === "NotFoundException" ||
    e.name === "NotFound" ||
    e.name === "ResourceNotFoundException"
  );
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "ETIMEDOUT",
]);

/** The request never got an answer from the server (refused, reset, unresolvable, timed out). */
export function isNetworkError(error: unknown): boolean {
  const e = fields(error);
  if (e.code !== undefined && NETWORK_CODES.has(e.code)) return true;
  if (e.name === "TimeoutError" || e.name === "RequestTimeout") return true;
  const cause = (error as { cause?: unknown } | null)?.cause;
  return cause !== undefined && cause !== error && isNetworkError(cause);
}

const AUTH_NAMES = new Set([
  "AccessDenied",
  "AccessDeniedException",
  "AuthorizationError",
  "InvalidClientTokenId",
  "SignatureDoesNotMatch",
  "UnrecognizedClientException",
  "MissingAuthenticationToken",
  "InvalidSecurity",
  "ExpiredToken",
  "CredentialsProviderError",
]);

/** Bad or missing credentials, or no permission. */
export function isAuthError(error: unknown): boolean {
  return AUTH_NAMES.has(errorName(error));
}

/** The SDK could not even build a request (no region, bad endpoint). */
export function isSetupError(error: unknown): boolean {
  const message = fields(error).message ?? "";
  return /Region is missing|Invalid region|UnknownEndpoint/i.test(message);
}

/** Throttled, 5xx or network: worth another try. */
export function isTransient(error: unknown): boolean {
  const e = fields(error);
  if (isNetworkError(error)) return true;
  if (e.$fault === "server") return true;
  const status = e.$metadata?.httpStatusCode ?? 0;
  if (status >= 500 || status === 429) return true;
  return /Throttl|RequestThrottled|ServiceUnavailable|InternalError|SlowDown/i.test(errorName(error));
}

/**
 * Translate an AWS error raised while doing `what` into the matching Omnibus error. With
 * `publish` (anything on the way of a send: the batch call, but also the queue or topic lookup it
 * needs first), what is not a setup problem is a `PublishError`, as the SPI asks of `send()`:
 * retryable when the broker was unreachable, throttled or failing, not when it refused the caller.
 */
export function translate(error: unknown, what: string, publish = false): OmnibusError {
  const detail = `${what}: ${errorName(error)}: ${fields(error).message ?? String(error)}`;
  if (isSetupError(error) || errorName(error) === "CredentialsProviderError") {
    return new ConfigError(detail, { cause: error }); // no region, no credentials: fix the setup
  }
  if (publish) return new PublishError(detail, { cause: error, retryable: isTransient(error) });
  if (isAuthError(error)) return new ConnectionError(detail, { cause: error, retryable: false });
  if (isNetworkError(error)) return new ConnectionError(detail, { cause: error });
  return new ConnectionError(detail, { cause: error, retryable: isTransient(error) });
}

/**
 * An error of a send as `send()` must reject: a `ConnectionError` raised on the way (looking up
 * or creating the queue or topic) becomes a `PublishError` with the same message, cause and
 * retryability; every other error is kept.
 */
export function asPublishError(error: unknown): unknown {
  if (!(error instanceof ConnectionError)) return error;
  const e = error as ConnectionError;
  return new PublishError(e.message, { cause: e.cause, retryable: e.retryable });
}
