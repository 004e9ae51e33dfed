/**
 * Broker state for `client.stats`: the durable consumer's info — `num_pending` (in the stream,
 * not yet delivered to the consumer) as `depth`, `num_ack_pending` (delivered, not acked; a nak
 * with a delay stays here until it is redelivered) as `inFlight`. A queue stream whose consumer
 * does not exist yet (sent to, never consumed) counts the stream's messages as `depth`.
 * @module
 */
import { JetStreamApiError, type JetStreamManager } from "@nats-io/jetstream";
import type { SourceStats } from "@omnibus/core";

const API_STREAM_NOT_FOUND = 10059;
const API_CONSUMER_NOT_FOUND = 10014;

function notFound(error: unknown): boolean {
  return (
    error instanceof JetStreamApiError &&
    (error.code === API_STREAM_NOT_FOUND || error.code === API_CONSUMER_NOT_FOUND)
  );
}

/**
 * The counts of `durable` on `stream`; with `streamFallback`, the stream's message count when the
 * consumer does not exist; zeros when neither does.
 */
export async function consumerStats(
  jsm: JetStreamManager,
  stream: string,
  durable: string,
  streamFallback: boolean,
): Promise<SourceStats> {
  try {
    const info = await jsm.consumers.info(stream, durable);
    return { depth: info.num_pending, inFlight: info.num_ack_pending };
  } catch (error) {
    if (!notFound(error)) throw error;
  }
  if (!streamFallback) return { depth: 0, inFlight: 0 };
  try {
    const info = await jsm.streams.info(stream);
    return { depth: info.state.messages, inFlight: 0 };
  } catch (error) {
    if (notFound(error)) return { depth: 0, inFlight: 0 };
    throw error;
  }
}
