/**
 * An injective mapping of Omnibus names onto a broker's name alphabet, for adapters whose broker
 * allows fewer characters or shorter names: characters outside the alphabet (and the escape
 * character itself) become `<escape><2 hex>`; a name too long keeps a head cut at a code
 * boundary and ends in `<escape>h<hash>` — `h` is never a hex digit, so a hashed name can never
 * equal another name's plain form. Distinct hashed names collide only if their SHA-256 prefixes do.
 * @module
 */
import { createHash } from "node:crypto";

/** Options of {@link nameMapper}. */
export interface NameMapperOptions {
  /** One character the broker allows as is (tested per character). */
  readonly allowed: RegExp;
  /** The escape character: allowed by the broker, escaped itself when it occurs. */
  readonly escape: string;
  /** Longest name the broker takes. */
  readonly maxLength: number;
  /** Hex digits of the hash of a long name. @default 24 */
  readonly hashLength?: number;
}

/** A function mapping names injectively onto the broker's alphabet and length. */
export function nameMapper(o: NameMapperOptions): (name: string) => string {
  if (o.escape.length !== 1 || !o.allowed.test(o.escape))
    throw new RangeError("the escape must be one allowed character");
  const hashLength = o.hashLength ?? 24;
  if (o.maxLength < hashLength + 8) throw new RangeError("maxLength too small for the hash");
  return (name) => {
    const codes: string[] = [];
    for (const ch of name) {
      if (ch !== o.escape && o.allowed.test(ch)) codes.push(ch);
      else
        for (const byte of Buffer.from(ch, "utf8")) codes.push(o.escape + byte.toString(16).padStart(2, "0"));
    }
    const plain = codes.join("");
    if (plain.length <= o.maxLength) return plain;
    const budget = o.maxLength - hashLength - 2;
    let head = "";
    for (const code of codes) {
      if (head.length + code.length > budget) break;
      head += code;
    }
    const hash = createHash("sha256").update(name).digest("hex").slice(0, hashLength);
    return `${head}${o.escape}h${hash}`;
  };
}
