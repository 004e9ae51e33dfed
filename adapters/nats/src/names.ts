import { createHash } from "node:crypto";

/**
 * Mapping of Omnibus names (queue, topic, group: `[A-Za-z0-9._-]`, validated by core) onto
 * NATS names. Stream and consumer names may not contain `.` (nor `*`, `>`, whitespace or path
 * separators) and subject tokens are separated by `.`, so a name is escaped into one token of
 * `[A-Za-z0-9_-]`:
 *
 * - `_` becomes `__`, `.` becomes `_d`, everything else stays. The code is prefix-free, so the
 *   mapping is injective (`a.b` → `a_db`, `a_db` → `a__db`).
 * - An escaped name longer than {@link MAX_TOKEN} is shortened to the escape of its longest
 *   prefix that fits in {@link HASH_PREFIX} characters *in whole escape codes* (a cut never splits
 *   `__` or `_d`), then `_x` and 32 hex digits of the SHA-256 of the whole original name.
 *
 * Why this is one-to-one. Read a token from the left, code by code: `__` is `_`, `_d` is `.`, any
 * other character is itself, and `_` followed by anything else (or by nothing) is not a code. A
 * plain token is a sequence of codes, so it reads to the end and {@link unescapeName} inverts it:
 * two names with the same plain token are the same name. A hashed token starts with whole codes
 * and then has `_x` exactly where the reader expects a code, so it never reads to the end: no
 * hashed token is the plain token of any name. Two hashed tokens are equal only if their names
 * share the prefix and the 128-bit hash (a SHA-256 collision). Cutting at a fixed character count
 * instead would break this: `"a"×63 + "." + "b"×100` escapes to `"a"×63 + "_d" + …`, cut at 64
 * to `"a"×63 + "_"`, and with `"_x" + hash` that is `"a"×63 + "__x" + hash`: the plain token of
 * the valid 97-character name `"a"×63 + "_x" + hash`.
 *
 * @module
 */

/** Longest escaped token kept verbatim (stream directories live on the file system). */
export const MAX_TOKEN = 120;

/** Longest escaped prefix kept in front of the hash of a long name. */
export const HASH_PREFIX = 64;

const code = (c: string): string => (c === "_" ? "__" : c === "." ? "_d" : c);

/** Escape one Omnibus name into a NATS-safe token (see the module comment). */
export function escapeName(name: string): string {
  const escaped = name.replace(/[_.]/g, code);
  if (escaped.length <= MAX_TOKEN) return escaped;
  let prefix = "";
  for (const c of name) {
    const next = code(c);
    if (prefix.length + next.length > HASH_PREFIX) break;
    prefix += next;
  }
  const hash = createHash("sha256").update(name, "utf8").digest("hex").slice(0, 32);
  return `${prefix}_x${hash}`;
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
