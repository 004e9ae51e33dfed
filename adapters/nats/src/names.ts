import { createHash } from "node:crypto";

/**
 * Mapping of Omnibus names (queue, topic, group: `[A-Za-z0-9._-]`, validated by core) onto
 * NATS names. Stream and consumer names may not contain `.` (nor `*`, `>`, whitespace or path
 * separators) and subject tokens are separated by `.`, so a name is escaped into one token of
 * `[A-Za-z0-9_-]`:
 *
 * - `_` becomes `__`, `.` becomes `_d`, everything else stays. The code is prefix-free, so the
 *   mapping is injective (`a.b` → `a_db`, `a_db` → `a__db`).
 * - An escaped name longer than {@link MAX_TOKEN} is shortened to its first 64 characters, `_x`
 *   and 32 hex digits of the SHA-256 of the original name. `_x` never occurs in an unhashed
 *   escape, so hashed and unhashed names cannot meet.
 *
 * @module
 */

/** Longest escaped token kept verbatim (stream directories live on the file system). */
export const MAX_TOKEN = 120;

/** Escape one Omnibus name into a NATS-safe token (see the module comment). */
export function escapeName(name: string): string {
  const escaped = name.replace(/[_.]/g, (c) => (c === "_" ? "__" : "_d"));
  if (escaped.length <= MAX_TOKEN) return escaped;
  const hash = createHash("sha256").update(name, "utf8").digest("hex").slice(0, 32);
  return `${escaped.slice(0, 64)}_x${hash}`;
}

/** Inverse of {@link escapeName} for unhashed tokens; `undefined` for a hashed or invalid one. */
export function unescapeName(token: string): string | undefined {
  let out = "";
  for (let i = 0; i < token.length; i++) {
    const c = token[i]!;
    if (c !== "_") {
      out += c;
      continue;
    }
    const next = token[++i];
    if (next === "_") out += "_";
    else if (next === "d") out += ".";
    else return undefined;
  }
  return out;
}

/** Stream, subject and consumer names of one destination. */
export interface Names {
  readonly stream: string;
  readonly subject: string;
}

/** Prefixes of every NATS name the adapter creates. */
export interface NamePrefixes {
  /** Stream name prefix, e.g. `OMNIBUS` → `OMNIBUS_Q_orders`. */
  readonly stream: string;
  /** Subject prefix, e.g. `omnibus` → `omnibus.q.orders`. */
  readonly subject: string;
}

/** Names of the stream and subject of queue `name`. */
export function queueNames(prefixes: NamePrefixes, name: string): Names {
  const token = escapeName(name);
  return { stream: `${prefixes.stream}_Q_${token}`, subject: `${prefixes.subject}.q.${token}` };
}

/** Names of the stream and subject of topic `name`. */
export function topicNames(prefixes: NamePrefixes, name: string): Names {
  const token = escapeName(name);
  return { stream: `${prefixes.stream}_T_${token}`, subject: `${prefixes.subject}.t.${token}` };
}

/** The durable consumer shared by every consumer of a queue. */
export const QUEUE_CONSUMER = "omnibus";

/** The durable consumer of topic group `group`. */
export function groupConsumer(group: string): string {
  return `g_${escapeName(group)}`;
}
