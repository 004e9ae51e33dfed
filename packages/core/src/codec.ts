import { DecodeError } from "./errors.js";

/** Turns bodies into bytes and back. The content type travels in a header. */
export interface Codec<T = unknown> {
  /**
   * MIME type written to the `omnibus-content-type` header, e.g. `text/plain`. JSON, the default,
   * is written as no header at all, and a message without the header is read as JSON.
   */
  readonly contentType: string;
  /** The bytes that travel for `body`. */
  encode(body: T): Uint8Array;
  /** Throw on malformed input; core turns it into a `DecodeError` and dead-letters the message. */
  decode(bytes: Uint8Array): T;
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/** JSON (the default). `undefined` encodes to an empty body and decodes back to `undefined`. */
export const jsonCodec: Codec<unknown> = {
  contentType: "application/json",
  encode(body) {
    if (body === undefined) return new Uint8Array(0);
    // `Buffer.from` (pooled for small strings) costs a third of `TextEncoder.encode` for a 256-byte
    // document (measured: 0.3 against 1.0 µs on Node 20); the view keeps bodies plain Uint8Arrays.
    const json = JSON.stringify(body) as string | undefined;
    if (json === undefined) return new Uint8Array(0); // a function or symbol, as TextEncoder had it
    const bytes = Buffer.from(json, "utf8");
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  },
  decode(bytes) {
    if (bytes.byteLength === 0) return undefined;
    return JSON.parse(strictDecoder.decode(bytes));
  },
};

/** UTF-8 text. */
export const textCodec: Codec<string> = {
  contentType: "text/plain; charset=utf-8",
  encode(body) {
    if (typeof body !== "string") throw new TypeError("textCodec encodes strings only");
    return encoder.encode(body);
  },
  decode(bytes) {
    return strictDecoder.decode(bytes);
  },
};

/** Raw bytes, passed through. Bodies are `Uint8Array` (a `Buffer` is accepted on send). */
export const bytesCodec: Codec<Uint8Array> = {
  contentType: "application/octet-stream",
  encode(body) {
    if (!(body instanceof Uint8Array)) throw new TypeError("bytesCodec encodes Uint8Array only");
    return body;
  },
  decode(bytes) {
    return bytes;
  },
};

/** The codecs every client knows, by content type. */
export const builtinCodecs: readonly Codec<any>[] = [jsonCodec, textCodec, bytesCodec];

/** Looks a codec up by content type (parameters such as charset are compared too, then ignored). */
export class CodecRegistry {
  readonly #byType = new Map<string, Codec<any>>();
  constructor(codecs: readonly Codec<any>[]) {
    for (const codec of codecs) {
      this.#byType.set(codec.contentType, codec);
      this.#byType.set(baseType(codec.contentType), codec);
    }
  }
  get(contentType: string): Codec<any> | undefined {
    return this.#byType.get(contentType) ?? this.#byType.get(baseType(contentType));
  }
  decode(contentType: string | undefined, bytes: Uint8Array, fallback: Codec<any>): unknown {
    const codec = contentType === undefined ? fallback : this.get(contentType);
    if (codec === undefined)
      throw new DecodeError(`no codec for content type ${JSON.stringify(contentType)}`);
    try {
      return codec.decode(bytes);
    } catch (error) {
      throw new DecodeError(`body is not valid ${codec.contentType}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
}

function baseType(contentType: string): string {
  return contentType.split(";")[0]!.trim().toLowerCase();
}
