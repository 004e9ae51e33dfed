import { expect, it } from "vitest";
import { ErrorCode } from "./errors.js";
import { validateName } from "./names.js";

it("accepts portable names and rejects the rest with a config error", () => {
  for (const ok of ["orders", "orders.dlq", "a-b_c.9", "X".repeat(200)])
    expect(validateName("queue", ok)).toBe(ok);
  for (const bad of ["", " ", "a b", "a/b", ".x", "-x", "a..b", "x".repeat(201), 7, undefined, "ü"]) {
    expect(() => validateName("queue", bad)).toThrowError(
      expect.objectContaining({ code: ErrorCode.Config }),
    );
  }
});

it("uuidv7 ids are unique, version 7 and ordered by time", async () => {
  const { uuidv7 } = await import("./ids.js");
  const ids = Array.from({ length: 5000 }, (_, i) => uuidv7(1_700_000_000_000 + i));
  expect(new Set(ids).size).toBe(5000);
  for (const id of ids.slice(0, 10))
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect([...ids].sort()).toEqual(ids);
});
