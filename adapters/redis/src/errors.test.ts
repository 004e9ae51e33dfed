import { inspect } from "node:util";
import { ConnectionError } from "@omnibus/core";
import { describe, expect, it } from "vitest";
import { Scrubber, urlSecret } from "./errors.js";

/** What ioredis rejects every queued command with after a failed AUTH (see DataHandler.returnError). */
function authError(password: string): Error {
  const error = new Error("WRONGPASS invalid username-password pair or user is disabled.") as Error &
    Record<string, unknown>;
  error.name = "ReplyError";
  error.command = { name: "auth", args: ["omnibus", password] };
  return error;
}

describe("Scrubber", () => {
  it("copies an ioredis error without the command's arguments", () => {
    const scrub = new Scrubber(["p4ss:w@rd"]);
    const cause = scrub.cause(authError("p4ss:w@rd"));
    expect(cause.message).toBe("WRONGPASS invalid username-password pair or user is disabled.");
    expect(cause.name).toBe("ReplyError");
    expect((cause as unknown as { command: unknown }).command).toEqual({ name: "auth" });
    const wrapped = new ConnectionError("redis: sending failed", { cause });
    expect(inspect(wrapped, { depth: 10, showHidden: true })).not.toContain("p4ss");
  });

  it("masks known secrets (also URL-encoded) and URL passwords in messages, stacks and nested causes", () => {
    const scrub = new Scrubber(["s3cr/et", undefined, ""]);
    const inner = new Error("connect failed for redis://u:other@h and s3cr/et");
    const outer = new Error("url redis://:s3cr%2Fet@host:1 down", { cause: inner });
    const copy = scrub.cause(outer);
    const text = inspect(copy, { depth: 10, showHidden: true });
    expect(text).not.toContain("s3cr");
    expect(text).not.toContain("other");
    expect((copy.cause as Error).message).toBe("connect failed for redis://u:***@h and ***");
    expect(scrub.text("a s3cr/et b")).toBe("a *** b");
  });

  it("keeps what helps (code, syscall, address, port) and copies AggregateError members", () => {
    const scrub = new Scrubber(["Zq9-agg"]);
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), {
      code: "ECONNREFUSED",
      errno: -111,
      syscall: "connect",
      address: "127.0.0.1",
      port: 1,
    });
    const aggregate = new AggregateError([refused, authError("Zq9-agg")], "all failed");
    const copy = scrub.cause(aggregate) as AggregateError;
    expect(copy).toBeInstanceOf(AggregateError);
    expect(copy.errors[0]).toMatchObject({ code: "ECONNREFUSED", errno: -111, syscall: "connect", port: 1 });
    expect(inspect(copy, { depth: 10, showHidden: true })).not.toContain("Zq9");
    expect((copy.errors[1] as { command: unknown }).command).toEqual({ name: "auth" });
  });

  it("turns thrown non-errors into errors", () => {
    const scrub = new Scrubber(["pw1"]);
    expect(scrub.cause("bad pw1").message).toBe("bad ***");
    expect(scrub.message({ toString: () => "x pw1" })).toBe("x ***");
  });

  it("reads the password of a URL", () => {
    expect(urlSecret("redis://u:a%2Fb@h:1")).toBe("a/b");
    expect(urlSecret("redis://h:1")).toBeUndefined();
    expect(urlSecret(undefined)).toBeUndefined();
  });
});
