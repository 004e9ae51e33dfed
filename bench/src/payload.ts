/**
 * Bodies: a JSON document `{"i":<index>,"t":<send time>,"p":"xxx…"}` padded to exactly `size`
 * bytes. The raw clients send it as bytes and `JSON.parse` it on receipt, as an application
 * would; Omnibus sends the object through its default JSON codec. Both sides do the same work.
 */
export interface Body {
  readonly i: number;
  readonly t: number;
  readonly p: string;
}

let PAD = "x".repeat(1 << 16);

export function body(i: number, size: number, t = 0): Body {
  // `{"i":,"t":,"p":""}` is 18 characters.
  const used = 18 + String(i).length + String(t).length;
  if (size > PAD.length) PAD = "x".repeat(size); // large bodies (the claim-check runs)
  return { i, t, p: PAD.slice(0, Math.max(0, size - used)) };
}

export function bodyBytes(i: number, size: number, t = 0): Buffer {
  return Buffer.from(JSON.stringify(body(i, size, t)));
}

export function parse(bytes: Uint8Array): Body {
  return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8")) as Body;
}

/** Send time for the stream scenario: ms with µs precision, short enough to keep the body size stable. */
export function now(): number {
  return Math.round(performance.now() * 1000) / 1000;
}
