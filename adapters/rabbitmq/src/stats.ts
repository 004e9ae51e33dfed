/**
 * Broker state for `client.stats`: a passive declare (`queue.declare` with `passive`, amqplib's
 * `checkQueue`) answers the queue's ready messages without creating it. AMQP 0-9-1 says nothing
 * of unacknowledged deliveries (only the management plugin's HTTP API does), so `inFlight` is
 * `undefined`; messages waiting out a nack delay in a wait queue are not counted either.
 * @module
 */
import type { SourceStats } from "@omnibus/core";
import { amqpCode, type Link } from "./link.js";

/** The ready count of AMQP queue `queue`; zeros when it does not exist (404). */
export async function amqpQueueStats(link: Link, queue: string): Promise<SourceStats> {
  try {
    const ok = await link.declare((ch) => ch.checkQueue(queue));
    return { depth: ok.messageCount, inFlight: undefined };
  } catch (error) {
    if (amqpCode(error) === 404) return { depth: 0, inFlight: undefined };
    throw error;
  }
}
