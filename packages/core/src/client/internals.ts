/**
 * What a client shares with its consumers and its request broker — instead of public methods on
 * the client object.
 * @module
 */
import type { Logger } from "../logger.js";
import type { Adapter, Address, OutboundMessage } from "../spi.js";
import type { Client } from "../types.js";
import type { InboundStep } from "./wire.js";

export interface ClientInternals {
  /** The client as applications see it (middleware contexts carry it). */
  readonly client: Client;
  readonly logger: Logger;
  readonly closeTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** True once close() began. */
  closing(): boolean;
  /** Decode a body by its content type with the client's codecs (`DecodeError`). */
  decode(headers: Readonly<Record<string, string>>, bytes: Uint8Array): unknown;
  /**
   * Send an already-encoded message (dead letters, replies): size-checked, no `send` middleware.
   * With `outbound: true` (replies) the middleware's `outbound` steps run on it first; dead-letter
   * copies keep the bytes they came with.
   */
  sendPrepared(
    adapter: Adapter,
    address: Address,
    message: OutboundMessage,
    outbound?: boolean,
  ): Promise<void>;
  /** Whether the client's middleware has `outbound` steps (then encode leaves the size check to them). */
  readonly hasOutbound: boolean;
  /** The `inbound` steps of the client's middleware, innermost first (empty when none). */
  readonly inbound: readonly InboundStep[];
}
