/**
 * The byte-level steps of middleware (`outbound`, `inbound`): what runs between the codec and the
 * adapter, in both directions. Core runs them; a middleware such as `claimCheck` only changes
 * the bytes and headers it is given.
 * @module
 */
import type { Logger } from "../logger.js";
import type { Address, InboundMessage, OutboundMessage, Source } from "../spi.js";
import type { Client, InboundContext, Middleware, OutboundContext } from "../types.js";

/** An `outbound` step, bound to its middleware. */
export type OutboundStep = (ctx: OutboundContext) => Promise<void> | void;
/** An `inbound` step, bound to its middleware. */
export type InboundStep = (ctx: InboundContext) => Promise<void> | void;

/** The `outbound` steps of `use`, in order. */
export function outboundSteps(use: readonly Middleware[]): OutboundStep[] {
  return use.filter((m) => m.outbound).map((m) => m.outbound!.bind(m));
}

/** The `inbound` steps of `use`, innermost first (the reverse of `use`), so that they nest. */
export function inboundSteps(use: readonly Middleware[]): InboundStep[] {
  return use
    .filter((m) => m.inbound)
    .map((m) => m.inbound!.bind(m))
    .reverse();
}

/** Run the outbound steps on one encoded message; the message to hand over (size unchecked). */
export async function runOutbound(
  steps: readonly OutboundStep[],
  client: Client,
  maxMessageBytes: number,
  address: Address,
  message: OutboundMessage,
): Promise<OutboundMessage> {
  const ctx: OutboundContext = {
    kind: address.kind,
    destination: address.name,
    id: message.id,
    body: message.body,
    headers: { ...message.headers },
    maxMessageBytes,
    client,
  };
  for (const step of steps) await step(ctx);
  return { ...message, body: ctx.body, headers: ctx.headers };
}

/** A received message after the inbound steps: what to decode, and what to do once acked. */
export interface Received {
  readonly body: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  /** Callbacks registered with `onAcked`; empty when none. */
  readonly acked: readonly (() => Promise<void> | void)[];
}

/** Run the inbound steps on one received message. Throws what a step throws. */
export async function runInbound(
  steps: readonly InboundStep[],
  source: Source,
  message: InboundMessage,
): Promise<Received> {
  const acked: (() => Promise<void> | void)[] = [];
  const ctx: InboundContext = {
    kind: source.kind,
    source: source.name,
    group: source.kind === "topic" ? source.group : undefined,
    id: message.id,
    attempt: message.attempt,
    body: message.body,
    headers: { ...message.headers },
    onAcked(callback) {
      if (typeof callback === "function") acked.push(callback);
    },
  };
  for (const step of steps) await step(ctx);
  return { body: ctx.body, headers: ctx.headers, acked };
}

/** Run the `onAcked` callbacks of a message that was acked; failures are logged, never thrown. */
export async function runAcked(
  logger: Logger,
  callbacks: readonly (() => Promise<void> | void)[],
  id: string,
): Promise<void> {
  for (const callback of callbacks) {
    try {
      await callback();
    } catch (error) {
      logger.warn("a middleware's after-ack step failed", { id, error });
    }
  }
}
