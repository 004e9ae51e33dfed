/**
 * A client's options, checked and filled in once.
 * @module
 */
import { builtinCodecs, type Codec, CodecRegistry, jsonCodec } from "../codec.js";
import type { Contract } from "../contract.js";
import { ConfigError } from "../errors.js";
import { consoleLogger, type Logger, safeLogger } from "../logger.js";
import { type RetryPolicy, resolveRetryPolicy } from "../retry.js";
import type { ClientOptions, Middleware, TelemetryOptions } from "../types.js";

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
  readonly telemetry: TelemetryOptions | undefined;
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
    logger: safeLogger(options.logger ?? consoleLogger("warn")),
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
    telemetry: telemetryOptions(options.telemetry),
  };
}

/** Check the `telemetry` option's shape (`ConfigError`). */
function telemetryOptions(value: TelemetryOptions | undefined): TelemetryOptions | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null) throw new ConfigError("telemetry must be an object");
  if (value.enabled !== undefined && typeof value.enabled !== "boolean")
    throw new ConfigError("telemetry.enabled must be true or false");
  if (
    value.consumerContext !== undefined &&
    value.consumerContext !== "link" &&
    value.consumerContext !== "parent"
  )
    throw new ConfigError('telemetry.consumerContext must be "link" or "parent"');
  if (value.brokerGauges !== undefined && typeof value.brokerGauges !== "boolean")
    throw new ConfigError("telemetry.brokerGauges must be true or false");
  if (value.tracerProvider !== undefined && typeof value.tracerProvider?.getTracer !== "function")
    throw new ConfigError("telemetry.tracerProvider must be an OpenTelemetry TracerProvider");
  if (value.meterProvider !== undefined && typeof value.meterProvider?.getMeter !== "function")
    throw new ConfigError("telemetry.meterProvider must be an OpenTelemetry MeterProvider");
  return value;
}
