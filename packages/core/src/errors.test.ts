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
