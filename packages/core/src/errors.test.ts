import { describe, expect, it } from "vitest";
import {
  ConfigError,
  ConnectionError,
  ErrorCode,
  isOmnibusError,
  maskUrl,
  OmnibusError,
  RemoteError,
  RetryLaterError,
  redact,
} from "./errors.js";

describe("errors", () => {
  it("carry a stable code, retryable and the cause", () => {
    const cause = new Error("ECONNREFUSED");
    const e = new ConnectionError("cannot reach broker", { cause });
    expect(e).toBeInstanceOf(OmnibusError);
    expect(e).toBeInstanceOf(ConnectionError);
    expect(e).not.toBeInstanceOf(ConfigError);
    expect(e.code).toBe(ErrorCode.Connection);
    expect(e.retryable).toBe(true);
    expect(e.cause).toBe(cause);
    expect(e.name).toBe("ConnectionError");
    expect(new ConfigError("x").retryable).toBe(false);
  });
  it("instanceof works for an error made by another copy of core", () => {
    // What a second installed copy produces: same global brand, same code, different class.
    const foreign = Object.assign(new Error("from elsewhere"), { code: ErrorCode.Config });
    Object.defineProperty(foreign, Symbol.for("omnibus.error"), { value: true });
    expect(foreign).toBeInstanceOf(OmnibusError);
    expect(foreign).toBeInstanceOf(ConfigError);
    expect(foreign).not.toBeInstanceOf(ConnectionError);
    expect(new Error("plain")).not.toBeInstanceOf(OmnibusError);
    expect(isOmnibusError(foreign, ErrorCode.Config)).toBe(true);
  });
  it("never shows a URL password", () => {
    const e = new ConnectionError("cannot connect to amqp://admin:s3cr3t@rabbit:5672/vhost");
    expect(e.message).not.toContain("s3cr3t");
    expect(e.message).toContain("amqp://admin:***@rabbit:5672/vhost");
    expect(redact("redis://:pw@h:6379 and nats://u:p@x")).toBe("redis://:***@h:6379 and nats://u:***@x");
    expect(maskUrl("kafka://broker:9092")).toBe("kafka://broker:9092");
  });
  it("masks tokens, passwords holding @ / or :, and every server of a multi-host URL", () => {
    expect(redact("nats://s3cretTOKEN@127.0.0.1:4222")).toBe("nats://***@127.0.0.1:4222");
    expect(redact("amqp://user:p@ss@host:5672/v")).toBe("amqp://user:***@host:5672/v");
    expect(redact("amqp://user:pa/ss@host")).toBe("amqp://user:***@host");
    expect(redact("kafka://u:a:b@h")).toBe("kafka://u:***@h");
    expect(redact("nats://u:one@h1,u:two@h2")).not.toMatch(/one|two/);
    expect(redact('see "redis://:pw@h:1" now')).toBe('see "redis://:***@h:1" now');
    expect(redact("https://example.com/path?mail=a")).toBe("https://example.com/path?mail=a");
  });
  it("masks URL credentials in the cause chain of an error", () => {
    const inner = Object.assign(new TypeError("Invalid URL"), { input: "amqp://u:SECRET@h:99999" });
    const outer = Object.assign(new Error("wrapped", { cause: inner }), {
      details: { url: "redis://:SECRET@h" },
    });
    const e = new ConfigError("bad URL amqp://u:SECRET@h:99999", { cause: outer });
    expect(JSON.stringify({ m: e.message, i: inner.input, d: outer.details })).not.toContain("SECRET");
    expect(inner.input).toBe("amqp://u:***@h:99999");
    expect(e.cause).toBe(outer);
  });
  it("control-flow errors carry their data", () => {
    expect(new RetryLaterError(250).delayMs).toBe(250);
    const remote = new RemoteError("out of stock", "OUT_OF_STOCK");
    expect([remote.code, remote.remoteMessage, remote.remoteCode]).toEqual([
      ErrorCode.RemoteError,
      "out of stock",
      "OUT_OF_STOCK",
    ]);
  });
});
