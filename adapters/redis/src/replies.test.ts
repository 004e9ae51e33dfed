import { describe, expect, it } from "vitest";
import { configValue, type StreamEntry, streamsOf } from "./replies.js";

const b = (s: string) => Buffer.from(s);
const entries = (n: string): StreamEntry[] => [
  [b(`${n}-1`), [b("f"), b("v")]],
  [b(`${n}-2`), null],
];

describe("reply shapes of RESP2 and RESP3", () => {
  it("XREADGROUP: RESP2 pairs, RESP3 flat map (legacy mapping), RESP3 object (resp3 mapping)", () => {
    const pairs = [
      [b("s1"), entries("1")],
      [b("s2"), entries("2")],
    ];
    const flat = [b("s1"), entries("1"), b("s2"), entries("2")];
    const object = { s1: entries("1"), s2: entries("2") };
    const keys = (r: ReturnType<typeof streamsOf>) => r.map(([k, e]) => [k.toString(), e]);
    expect(keys(streamsOf(pairs))).toEqual(keys(streamsOf(flat)));
    expect(keys(streamsOf(object))).toEqual(keys(streamsOf(pairs)));
    expect(keys(streamsOf(pairs))).toEqual([
      ["s1", entries("1")],
      ["s2", entries("2")],
    ]);
    expect(streamsOf(null)).toEqual([]);
    expect(streamsOf([])).toEqual([]);
  });

  it("CONFIG GET: flat list, pairs, object", () => {
    expect(configValue(["appendonly", "yes"], "appendonly")).toBe("yes");
    expect(configValue([["appendfsync", "always"]], "appendfsync")).toBe("always");
    expect(configValue({ appendonly: "no" }, "appendonly")).toBe("no");
    expect(configValue([], "appendonly")).toBeUndefined();
  });
});
