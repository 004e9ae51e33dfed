import { describe, expect, it } from "vitest";
import { ErrorCode, RetryLaterError } from "../errors.js";
import { HeaderNames } from "../types.js";
import { deadLetterHeaders, errorCode, errorMessage, headerBytes, MAX_REASON_CHARS } from "./outcome.js";

describe("errorMessage and errorCode", () => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const throwing = new Error("x");
  Object.defineProperty(throwing, "message", {
    get() {
      throw new Error("getter");
    },
  });
  const values: [string, unknown, string | RegExp][] = [
    ["an Error", new Error("plain"), "plain"],
    ["a TypeError", new TypeError("bad type"), "TypeError: bad type"],
    ["a null-prototype object", Object.create(null), "[Object: null prototype] {}"],
    ["a frozen object", Object.freeze({ reason: "frozen" }), "{ reason: 'frozen' }"],
    ["a symbol", Symbol("sym"), "Symbol(sym)"],
    ["undefined", undefined, "the handler threw undefined"],
    ["null", null, "the handler threw null"],
    ["a cyclic object", cyclic, "<ref *1> { a: 1, self: [Circular *1] }"],
    ["an Error whose message getter throws", throwing, /./],
    ["a string", "just a string", "just a string"],
    ["a number", 42, "42"],
    ["an OmnibusError", new RetryLaterError(5), "retry in 5 ms"],
  ];
  it.each(values)("describes %s without throwing", (_label, value, expected) => {
    const text = errorMessage(value);
    if (typeof expected === "string") expect(text).toBe(expected);
    else expect(text).toMatch(expected);
    expect(typeof errorCode(value)).toBe("string");
  });
  it("uses an OmnibusError's code, a string code of the value, or OMNIBUS_HANDLER", () => {
    expect(errorCode(new RetryLaterError(1))).toBe(ErrorCode.RetryLater);
    expect(errorCode(Object.assign(new Error("x"), { code: "E_APP" }))).toBe("E_APP");
    expect(errorCode(new Error("x"))).toBe(ErrorCode.Handler);
    expect(errorCode(Object.create(null))).toBe(ErrorCode.Handler);
  });
  it("cuts long messages", () => {
    expect(errorMessage(new Error("y".repeat(10_000))).length).toBe(MAX_REASON_CHARS);
  });
});

describe("deadLetterHeaders", () => {
  const info = { error: new Error("r".repeat(5_000)), attempts: 3, origin: "queue:orders", at: new Date(0) };
  it("adds every dead-letter header when there is room, the message's own headers kept", () => {
    const h = deadLetterHeaders(
      { "X-Trace": "t", [HeaderNames.DeadLetterReason]: "old" },
      10,
      info,
      1_000_000,
    );
    expect(h["X-Trace"]).toBe("t");
    expect(h[HeaderNames.DeadLetterAttempts]).toBe("3");
    expect(h[HeaderNames.DeadLetterOrigin]).toBe("queue:orders");
    expect(h[HeaderNames.DeadLetterReason]).toHaveLength(MAX_REASON_CHARS);
    expect(h[HeaderNames.DeadLetterAt]).toBe("1970-01-01T00:00:00.000Z");
  });
  it("fits the copy under the limit: the reason is cut, then headers are left out", () => {
    for (const room of [0, 20, 60, 120, 300, 2_000]) {
      const body = 10_000;
      const own = { a: "b" };
      const limit = body + headerBytes(own) + room;
      const h = deadLetterHeaders(own, body, info, limit);
      expect(body + headerBytes(h), `room ${room}`).toBeLessThanOrEqual(limit);
      expect(h.a).toBe("b");
    }
    const none = deadLetterHeaders({ a: "b" }, 100, info, 100 + headerBytes({ a: "b" }));
    expect(none).toEqual({ a: "b" });
  });
});
