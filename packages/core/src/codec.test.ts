import { describe, expect, it } from "vitest";
import { builtinCodecs, bytesCodec, CodecRegistry, jsonCodec, textCodec } from "./codec.js";
import { ErrorCode } from "./errors.js";

describe("codecs", () => {
  it("JSON round-trips values; undefined is the empty body", () => {
    for (const v of [{ a: [1, "ü", null] }, "text", 0, false, null]) {
      expect(jsonCodec.decode(jsonCodec.encode(v))).toEqual(v);
    }
    expect(jsonCodec.encode(undefined).byteLength).toBe(0);
    expect(jsonCodec.decode(new Uint8Array(0))).toBeUndefined();
    // What JSON cannot represent encodes as undefined does (as it did with TextEncoder).
    expect(jsonCodec.encode(() => 1).byteLength).toBe(0);
  });
  it("JSON bodies are plain Uint8Arrays of exactly the document's UTF-8 bytes", () => {
    const bytes = jsonCodec.encode({ ü: "日本" });
    expect(bytes.constructor).toBe(Uint8Array);
    expect([...bytes]).toEqual([...new TextEncoder().encode('{"ü":"日本"}')]);
  });
  it("text is strict UTF-8", () => {
    expect(textCodec.decode(textCodec.encode("日本 ✓"))).toBe("日本 ✓");
    expect(() => textCodec.decode(new Uint8Array([0xff, 0xfe]))).toThrow();
  });
  it("bytes pass through", () => {
    const b = new Uint8Array([0, 1, 255]);
    expect(bytesCodec.decode(bytesCodec.encode(b))).toBe(b);
  });
  it("the registry picks the codec by content type and fails with a decode error", () => {
    const registry = new CodecRegistry(builtinCodecs);
    expect(registry.decode("application/json; charset=utf-8", jsonCodec.encode({ x: 1 }), jsonCodec)).toEqual(
      { x: 1 },
    );
    expect(registry.decode(undefined, jsonCodec.encode([1]), jsonCodec)).toEqual([1]);
    expect(() =>
      registry.decode("application/json", new TextEncoder().encode("{nope"), jsonCodec),
    ).toThrowError(expect.objectContaining({ code: ErrorCode.Decode }));
    expect(() => registry.decode("application/x-unknown", new Uint8Array(1), jsonCodec)).toThrowError(
      expect.objectContaining({ code: ErrorCode.Decode }),
    );
  });
});
