/**
 * Omnibus envelope ⇄ NATS headers.
 *
 * NATS headers are MIME-like lines: a name of printable ASCII without `:`, a value without CR/LF
 * whose surrounding whitespace the client trims. Unicode and empty values survive as they are,
 * so a header is written verbatim whenever it can be, and percent-encoded only where it cannot:
 *
 * - value: `%`, control characters and leading/trailing whitespace become `%XX` (UTF-8 bytes);
 * - name: `%`, `:`, bytes outside `!`..`~` become `%XX`; an empty name is written `%`;
 * - a name that would read as one of ours (`Nats-*`, reserved for the server, and the envelope
 *   names below, compared case-insensitively) gets its first letter encoded (`%4Eats-…`).
 *
 * `%` is always encoded, so decoding is unambiguous and the mapping injective.
 *
 * Envelope fields travel in their own headers: the id as `Nats-Msg-Id` (the server drops a
 * resend within the stream's duplicate window; with the correlation id after `%%` when there is
 * one, see {@link dedupId}), the rest as `Omnibus-Key`,
 * `Omnibus-Correlation-Id`, `Omnibus-Reply-To` (or `Omnibus-Reply-Inbox` when the reply queue is
 * an ephemeral inbox, which tells the replier not to create a stream for it) and
 * `Omnibus-Timestamp`. The timestamp is left out when the id is a UUID version 7 whose embedded
 * milliseconds are the timestamp (what core's generated ids give, nearly always): the reader
 * takes it from the id, so it arrives unchanged and each message carries 34 bytes less (a third
 * of the header block), which the client, the server and the stream all pay for per message.
 *
 * @module
 */

export const H_ID = "Nats-Msg-Id";
export const H_KEY = "Omnibus-Key";
export const H_CORRELATION = "Omnibus-Correlation-Id";
export const H_REPLY_TO = "Omnibus-Reply-To";
export const H_REPLY_INBOX = "Omnibus-Reply-Inbox";
export const H_TIMESTAMP = "Omnibus-Timestamp";

const ENVELOPE = new Set(
  [H_KEY, H_CORRELATION, H_REPLY_TO, H_REPLY_INBOX, H_TIMESTAMP].map((h) => h.toLowerCase()),
);

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const HEX = "0123456789ABCDEF";

function pct(ch: string): string {
  let out = "";
  for (const b of encoder.encode(ch)) out += `%${HEX[b >> 4]}${HEX[b & 15]}`;
  return out;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must be encoded
const VALUE_UNSAFE = /[%\x00-\x1f\x7f]|^\s|\s$/;
const WS = /\s/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must be encoded
const CTRL = /[%\x00-\x1f\x7f]/;

/** Encode a header value so that NATS keeps it exactly (see the module comment). */
export function encodeValue(value: string): string {
  if (!VALUE_UNSAFE.test(value)) return value;
  const chars = Array.from(value);
  let start = 0;
  while (start < chars.length && WS.test(chars[start]!)) start++;
  let end = chars.length;
  while (end > start && WS.test(chars[end - 1]!)) end--;
  let out = "";
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    out += i < start || i >= end || CTRL.test(ch) ? pct(ch) : ch;
  }
  return out;
}

/** Inverse of {@link encodeValue}; a value that is not valid percent-encoding is kept as is. */
export function decodeValue(value: string): string {
  if (!value.includes("%")) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

const NAME_UNSAFE = /[^\x21-\x7e]|[%:]/;

function isReserved(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.startsWith("nats-") || ENVELOPE.has(lower);
}

/** Encode an application header name (see the module comment). */
export function encodeName(name: string): string {
  if (name.length === 0) return "%";
  let out = name;
  if (NAME_UNSAFE.test(name)) {
    out = "";
    for (const ch of name) out += NAME_UNSAFE.test(ch) ? pct(ch) : ch;
  }
  if (isReserved(out)) out = pct(out[0]!) + out.slice(1);
  return out;
}

/** Inverse of {@link encodeName}. */
export function decodeName(name: string): string {
  if (name === "%") return "";
  return decodeValue(name);
}

/** The envelope fields of an outbound message that travel in headers. */
export interface Envelope {
  readonly id: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly key?: string | undefined;
  readonly correlationId?: string | undefined;
  readonly replyTo?: string | undefined;
  readonly timestamp: number;
}

/**
 * Separates the id from the correlation id in `Nats-Msg-Id`. Never part of an encoded value:
 * {@link encodeValue} writes every `%` as `%25`, so a `%` is always followed by two hex digits.
 */
const ID_SEPARATOR = "%%";

/**
 * The `Nats-Msg-Id` of `message`, the key of the server's de-duplication: the id, and the
 * correlation id when there is one. A resend of a message (same id, same correlation id) is
 * dropped; two requests that share an id are two messages (core gives each its own correlation
 * id) and must both arrive.
 */
export function dedupId(message: Pick<Envelope, "id" | "correlationId">): string {
  const id = encodeValue(message.id);
  return message.correlationId === undefined
    ? id
    : `${id}${ID_SEPARATOR}${encodeValue(message.correlationId)}`;
}

/** The Omnibus id in a `Nats-Msg-Id` written by {@link dedupId}. */
export function idFromDedupId(value: string): string {
  const cut = value.indexOf(ID_SEPARATOR);
  return decodeValue(cut < 0 ? value : value.slice(0, cut));
}

/** A canonical (lowercase) UUID version 7, the form core generates. */
const UUIDV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The milliseconds embedded in `id` when it is a canonical UUID version 7, else `undefined`. */
export function uuidv7Time(id: string): number | undefined {
  if (id.length !== 36 || !UUIDV7.test(id)) return undefined;
  return Number.parseInt(id.slice(0, 8), 16) * 65_536 + Number.parseInt(id.slice(9, 13), 16);
}

/** Value of each ASCII byte as a lowercase hex digit, -1 for anything else. */
const HEX_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) HEX_VALUE["0123456789abcdef".charCodeAt(i)] = i;

/**
 * {@link uuidv7Time} of the 36 bytes at `at` (the same test, byte by byte: no string to build or
 * flatten). A byte of a multi-byte UTF-8 character is never a hex digit or `-`, so the bytes of a
 * UTF-8-encoded string pass exactly when the string does.
 */
export function uuidv7TimeAt(bytes: Uint8Array, at: number): number | undefined {
  if (bytes.length < at + 36) return undefined;
  let t = 0;
  for (let i = 0; i < 36; i++) {
    const b = bytes[at + i]!;
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (b !== 0x2d) return undefined;
      continue;
    }
    const v = HEX_VALUE[b]!;
    if (v < 0) return undefined;
    if (i < 13) t = t * 16 + v;
    else if (i === 14 ? v !== 7 : i === 19 && (v < 8 || v > 11)) return undefined;
  }
  return t;
}

/** Header lines for `message`, in order. `replyIsInbox`: `replyTo` names an ephemeral inbox. */
export function envelopeToHeaders(message: Envelope, replyIsInbox: boolean): [string, string][] {
  const out: [string, string][] = [];
  for (const name in message.headers) out.push([encodeName(name), encodeValue(message.headers[name]!)]);
  out.push([H_ID, dedupId(message)]);
  if (message.key !== undefined) out.push([H_KEY, encodeValue(message.key)]);
  if (message.correlationId !== undefined) out.push([H_CORRELATION, encodeValue(message.correlationId)]);
  if (message.replyTo !== undefined)
    out.push([replyIsInbox ? H_REPLY_INBOX : H_REPLY_TO, encodeValue(message.replyTo)]);
  // Implied by the id (see the module comment): nothing to write.
  if (uuidv7Time(message.id) !== message.timestamp) out.push([H_TIMESTAMP, String(message.timestamp)]);
  return out;
}

/** What {@link headersToEnvelope} reads back. Fields absent on the wire are `undefined`. */
export interface DecodedEnvelope {
  id: string | undefined;
  headers: Record<string, string>;
  key: string | undefined;
  correlationId: string | undefined;
  replyTo: string | undefined;
  /** `replyTo` names an ephemeral inbox. */
  replyIsInbox: boolean;
  timestamp: number | undefined;
}

/** Read the envelope back from header lines (name, values). Unknown `Nats-*` headers are skipped. */
export function headersToEnvelope(lines: Iterable<[string, string[]]> | undefined): DecodedEnvelope {
  const out: DecodedEnvelope = {
    id: undefined,
    headers: {},
    key: undefined,
    correlationId: undefined,
    replyTo: undefined,
    replyIsInbox: false,
    timestamp: undefined,
  };
  if (lines === undefined) return out;
  for (const [name, values] of lines) {
    const value = values[0] ?? "";
    switch (name) {
      case H_ID:
        out.id = idFromDedupId(value);
        out.timestamp ??= uuidv7Time(out.id);
        continue;
      case H_KEY:
        out.key = decodeValue(value);
        continue;
      case H_CORRELATION:
        out.correlationId = decodeValue(value);
        continue;
      case H_REPLY_TO:
        out.replyTo = decodeValue(value);
        continue;
      case H_REPLY_INBOX:
        out.replyTo = decodeValue(value);
        out.replyIsInbox = true;
        continue;
      case H_TIMESTAMP: {
        const ts = Number(value);
        if (Number.isFinite(ts)) out.timestamp = ts;
        continue;
      }
    }
    if (isReserved(name)) continue; // server headers (Nats-Expected-*, Nats-Stream-Source…)
    out.headers[decodeName(name)] = decodeValue(value);
  }
  return out;
}

/**
 * A NATS header block built once from already-valid lines (what `MsgHdrs.encode()` would give),
 * handed to `publish()` in place of a `MsgHdrs`: the client only calls `encode()` on it. Saves
 * the client's per-name validation and re-encoding, and gives the exact size for the
 * `max_payload` check.
 */
export class HeaderBlock {
  readonly bytes: Uint8Array;
  constructor(lines: readonly [string, string][] | Uint8Array) {
    if (lines instanceof Uint8Array) {
      this.bytes = lines;
      return;
    }
    let s = "NATS/1.0\r\n";
    for (const [k, v] of lines) s += `${k}: ${v}\r\n`;
    this.bytes = Buffer.from(`${s}\r\n`, "utf8");
  }
  encode(): Uint8Array {
    return this.bytes;
  }
}

const ID_ONLY_PREFIX = `NATS/1.0\r\n${H_ID}: `;
/** Size of an id-only header block: prefix, a 36-character UUID, the line's and the block's CRLF. */
export const ID_ONLY_SIZE = ID_ONLY_PREFIX.length + 36 + 4;
const ID_ONLY_HEAD = Buffer.from(ID_ONLY_PREFIX, "latin1");

/**
 * The header block of `message`: {@link envelopeToHeaders} in a {@link HeaderBlock}. The common
 * case, a message with a core-generated id and no other envelope field, skips the lines: its
 * block is `NATS/1.0`, `Nats-Msg-Id: <uuid>` (the timestamp implied by the id), and a canonical
 * UUID v7 is 36 ASCII characters that need no encoding.
 */
export function headerBlock(message: Envelope, replyIsInbox: boolean): HeaderBlock {
  if (
    message.id.length === 36 &&
    message.key === undefined &&
    message.correlationId === undefined &&
    message.replyTo === undefined &&
    isEmpty(message.headers)
  ) {
    // Written first, checked in the bytes: a UUID v7 (36 ASCII bytes, so the block has the
    // id-only size) whose milliseconds are the timestamp.
    const bytes = Buffer.from(`${ID_ONLY_PREFIX}${message.id}\r\n\r\n`, "utf8");
    if (bytes.length === ID_ONLY_SIZE && uuidv7TimeAt(bytes, ID_ONLY_HEAD.length) === message.timestamp)
      return new HeaderBlock(bytes);
  }
  return new HeaderBlock(envelopeToHeaders(message, replyIsInbox));
}

/**
 * The id and timestamp of a header block shaped as the fast path of {@link headerBlock} writes
 * it (`Nats-Msg-Id` alone, a UUID v7), read straight from its bytes; `undefined` for any other.
 */
export function idOnlyBlock(block: Uint8Array): { id: string; timestamp: number } | undefined {
  if (block.length !== ID_ONLY_SIZE) return undefined;
  for (let i = 0; i < ID_ONLY_HEAD.length; i++) if (block[i] !== ID_ONLY_HEAD[i]) return undefined;
  const end = ID_ONLY_SIZE - 4;
  if (block[end] !== 13 || block[end + 1] !== 10 || block[end + 2] !== 13 || block[end + 3] !== 10)
    return undefined;
  const timestamp = uuidv7TimeAt(block, ID_ONLY_HEAD.length);
  if (timestamp === undefined) return undefined;
  return { id: decoder.decode(block.subarray(ID_ONLY_HEAD.length, end)), timestamp };
}

function isEmpty(record: Readonly<Record<string, string>>): boolean {
  for (const _ in record) return false;
  return true;
}
