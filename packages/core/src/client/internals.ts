/**
 * What a client shares with its consumers and its request broker — instead of public methods on
 * the client object.
 * @module
 */
import type { Logger } from "../logger.js";
import type { Adapter, Address, OutboundMessage } from "../spi.js";
import type { Telemetry } from "../telemetry/telemetry.js";
import type { Client } from "../types.js";
import type { InboundStep } from "./wire.js";

export interface ClientInternals {
  /** The client as applications see it (middleware contexts carry it). */
  readonly client: Client;
  readonly logger: Logger;
  readonly closeTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** Record a failure for `client.health()` (a send or a consumer that failed). */
  noteError(error: unknown): void;
  /** True once close() began. */
  closing(): boolean;
  /** Decode a body by its content type with the client's codecs (`DecodeError`). */
  decode(headers: Readonly<Record<string, string>>, bytes: Uint8Array): unknown;
  /**
   * Send an already-encoded message (dead letters, replies): size-checked, no `send` middleware.
   * With `outbound: true` (replies) the middleware's `outbound` steps run on it first; dead-letter
   * copies keep the bytes they came with. Traced as a child of `parent` (an OpenTelemetry context:
   * the process span of the message handled).
   */
  sendPrepared(
    adapter: Adapter,
    address: Address,
    message: OutboundMessage,
    options?: { readonly outbound?: boolean; readonly parent?: unknown },
  ): Promise<void>;
  /** Whether the client's middleware has `outbound` steps (then encode leaves the size check to them). */
  readonly hasOutbound: boolean;
  /** The `inbound` steps of the client's middleware, innermost first (empty when none). */
  readonly inbound: readonly InboundStep[];
  /** The client's telemetry once connected; `undefined` when it is off. */
  telemetry(): Telemetry | undefined;
}
