/**
 * A client's options, checked and filled in once.
 * @module
 */
import { builtinCodecs, type Codec, CodecRegistry, jsonCodec } from "../codec.js";
import type { Contract } from "../contract.js";
import { ConfigError } from "../errors.js";
import { consoleLogger, type Logger } from "../logger.js";
import { type RetryPolicy, resolveRetryPolicy } from "../retry.js";
import type { ClientOptions, Middleware } from "../types.js";

/** Handlers at once per consumer when nothing says otherwise. */
export const DEFAULT_CONCURRENCY = 16;

/** {@link ClientOptions} with every default filled in. */
export interface ResolvedOptions {
  readonly codec: Codec<any>;
  readonly codecs: CodecRegistry;
  readonly use: readonly Middleware[];
  readonly logger: Logger;
  readonly retry: RetryPolicy;
  readonly concurrency: number;
  readonly prefetch: number | undefined;
  readonly closeTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly sendTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly contract: Contract | undefined;
}

/** `value`, a positive integer, or `fallback` when undefined; `ConfigError` otherwise. */
export function positiveInt(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new ConfigError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/** Check and fill in a client's options (throws `ConfigError`). */
export function resolveOptions(options: ClientOptions<any>): ResolvedOptions {
  const codec = options.codec ?? jsonCodec;
  return {
    codec,
    codecs: new CodecRegistry([...builtinCodecs, ...(options.codecs ?? []), codec]),
    use: options.use ?? [],
    logger: options.logger ?? consoleLogger("warn"),
    retry: resolveRetryPolicy(options.retry),
    concurrency: positiveInt("consumer.concurrency", options.consumer?.concurrency, DEFAULT_CONCURRENCY),
    prefetch:
      options.consumer?.prefetch === undefined
        ? undefined
        : positiveInt("consumer.prefetch", options.consumer.prefetch, 1),
    closeTimeoutMs: positiveInt("closeTimeoutMs", options.closeTimeoutMs, 10_000),
    requestTimeoutMs: positiveInt("requestTimeoutMs", options.requestTimeoutMs, 5_000),
    sendTimeoutMs: positiveInt("sendTimeoutMs", options.sendTimeoutMs, 30_000),
    connectTimeoutMs: positiveInt("connectTimeoutMs", options.connectTimeoutMs, 30_000),
    contract: options.contract,
  };
}
