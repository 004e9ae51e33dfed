import { describe, expect, it } from "vitest";
import { reachableText } from "./helpers.js";

// The scan behind the password checks (adapter/unreachable, client/secrets) must find a planted
// leak wherever a logger that prints errors with their causes could show it.
describe("reachableText", () => {
  const secret = "Sentinel-planted-1234";
  it.each([
    ["the message", () => new Error(`cannot connect with ${secret}`)],
    [
      "a cause's property",
      () => new Error("outer", { cause: Object.assign(new Error("inner"), { input: `x://u:${secret}@h` }) }),
    ],
    [
      "a command's arguments",
      () => Object.assign(new Error("WRONGPASS"), { command: { name: "auth", args: ["u", secret] } }),
    ],
    ["an AggregateError's errors", () => new AggregateError([new Error(secret)], "many")],
    [
      "a non-enumerable property",
      () =>
        Object.defineProperty(new Error("x"), "config", { value: { password: secret }, enumerable: false }),
    ],
    ["a Buffer", () => Object.assign(new Error("x"), { payload: Buffer.from(secret) })],
    ["a nested plain object", () => ({ a: { b: { c: { d: secret } } } })],
  ])("finds a secret in %s", (_where, make) => {
    expect(reachableText(make())).toContain(secret);
  });
  it("survives cycles and throwing getters", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    Object.defineProperty(cyclic, "boom", {
      get() {
        throw new Error("getter");
      },
      enumerable: true,
    });
    expect(() => reachableText(cyclic)).not.toThrow();
  });
});
