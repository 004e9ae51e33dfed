/**
 * Broker state for `client.stats`, from `XINFO GROUPS` on each stream the source reads (the main
 * stream, and a topic group's retry stream): the group's `lag` (entries not yet delivered to it)
 * plus the entries scheduled in the source's delay sets (`ZCARD`) as `depth`, its `pending` (the
 * PEL: delivered, not acked) as `inFlight`. Where Redis cannot say the lag (`nil`, after an entry
 * was deleted in the middle), the entries after the group's last-delivered id are counted
 * (`XRANGE`, up to 100,000). A queue whose group does not exist yet (sent to, never consumed)
 * reads from the start: its depth is the stream's length.
 * @module
 */
import type { SourceStats } from "@omnibus/core";
import type { RedisClient } from "./client.js";
import type { SourceKeys } from "./keys.js";

const COUNT_CAP = 100_000;

/** One field of an `XINFO GROUPS` entry, RESP2 (flat array) or RESP3 (map) alike. */
function field(entry: unknown, name: string): unknown {
  if (Array.isArray(entry)) {
    for (let i = 0; i + 1 < entry.length; i += 2) if (String(entry[i]) === name) return entry[i + 1];
    return undefined;
  }
  if (entry instanceof Map) return entry.get(name);
  if (entry !== null && typeof entry === "object") return (entry as Record<string, unknown>)[name];
  return undefined;
}

function entries(reply: unknown): unknown[] {
  if (Array.isArray(reply)) return reply;
  if (reply instanceof Map) return [...reply.values()];
  return [];
}

const missingKey = (error: unknown) => /no such key/i.test(String((error as Error)?.message));

/** What `group` has not read and not acked on `stream`. */
async function streamStats(
  client: RedisClient,
  stream: string,
  group: string,
  fromStart: boolean,
): Promise<{ lag: number; pending: number }> {
  let reply: unknown;
  try {
    reply = await client.xinfo("GROUPS", stream);
  } catch (error) {
    if (missingKey(error)) return { lag: 0, pending: 0 };
    throw error;
  }
  const info = entries(reply).find((e) => String(field(e, "name")) === group);
  if (info === undefined) return { lag: fromStart ? await client.xlen(stream) : 0, pending: 0 };
  const pending = Number(field(info, "pending") ?? 0);
  const lag = field(info, "lag");
  if (lag !== null && lag !== undefined) return { lag: Number(lag), pending };
  const last = String(field(info, "last-delivered-id") ?? "0-0");
  const after = (await client.xrange(stream, `(${last}`, "+", "COUNT", COUNT_CAP)) as unknown[];
  return { lag: after.length, pending };
}

/** The counts of the source whose keys are `keys`; `fromStart` for a queue (its group reads from 0). */
export async function sourceStats(
  client: RedisClient,
  keys: SourceKeys,
  fromStart: boolean,
): Promise<SourceStats> {
  const [streams, scheduled] = await Promise.all([
    Promise.all(keys.streams.map((s, i) => streamStats(client, s, keys.group, fromStart || i > 0))),
    Promise.all([...new Set(keys.schedules.map((s) => s.delayed))].map((k) => client.zcard(k))),
  ]);
  let depth = 0;
  let inFlight = 0;
  for (const s of streams) {
    depth += s.lag;
    inFlight += s.pending;
  }
  for (const n of scheduled) depth += n;
  return { depth, inFlight };
}
