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
