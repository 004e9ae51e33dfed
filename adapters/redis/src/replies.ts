/**
 * Reply shapes that differ between RESP2 and RESP3. ioredis 6 speaks RESP3 by default; a map
 * reply (`XREADGROUP`'s streams, `CONFIG GET`) then arrives, depending on the connection's
 * `protocol` and `replyMapping`, as RESP2's list of pairs, as a flat `[key, value, …]` array
 * (RESP3 with the "legacy" mapping: ioredis only re-pairs `XREADGROUP` when the command name is
 * given in lower case), or as a plain object (the "resp3" mapping). These read all three.
 */

/** An `XREADGROUP` entry: its id and its fields (`null` for an entry deleted while pending). */
export type StreamEntry = [id: Buffer, fields: Buffer[] | null];

/** The streams of an `XREADGROUP` reply as `[stream key, entries]` pairs, whatever its shape. */
export function streamsOf(reply: unknown): [key: Buffer | string, entries: StreamEntry[]][] {
  if (reply === null || reply === undefined) return [];
  if (Array.isArray(reply)) {
    if (reply.length === 0 || Array.isArray(reply[0])) return reply as [Buffer, StreamEntry[]][];
    const pairs: [Buffer | string, StreamEntry[]][] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) pairs.push([reply[i], reply[i + 1]]);
    return pairs;
  }
  if (typeof reply === "object") return Object.entries(reply) as [string, StreamEntry[]][];
  throw new TypeError(`unexpected XREADGROUP reply: ${typeof reply}`);
}

/** The value of one parameter in a `CONFIG GET <name>` reply, whatever its shape. */
export function configValue(reply: unknown, name: string): string | undefined {
  if (Array.isArray(reply)) {
    const flat = reply.length > 0 && Array.isArray(reply[0]) ? reply.flat() : reply;
    for (let i = 0; i + 1 < flat.length; i += 2) {
      if (String(flat[i]).toLowerCase() === name) return String(flat[i + 1]);
    }
    return undefined;
  }
  if (reply !== null && typeof reply === "object") {
    const value = (reply as Record<string, unknown>)[name];
    return value === undefined ? undefined : String(value);
  }
  return undefined;
}
