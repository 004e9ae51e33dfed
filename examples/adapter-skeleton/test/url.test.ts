import { createClient, ErrorCode } from "@omnibus/core";
import { describe, expect, it } from "vitest";
import "../src/index.js"; // registers skeleton:

describe("skeleton: URLs", () => {
  it("createClient({ url }) builds the adapter registered for skeleton:", async () => {
    const bus = createClient({ url: "skeleton://url-test?leaseMs=5000" });
    const got: unknown[] = [];
    await bus.consume("jobs", (m) => {
      got.push(m.body);
    });
    await bus.send("jobs", { n: 1 });
    await expect.poll(() => got).toEqual([{ n: 1 }]);
    expect(bus.adapterName).toBe("skeleton");
    await bus.close();
  });

  it("a bad URL parameter is a ConfigError from createClient", () => {
    expect(() => createClient({ url: "skeleton://x?nope=1" })).toThrow(
      expect.objectContaining({ code: ErrorCode.Config }),
    );
  });
});
