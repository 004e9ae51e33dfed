import { ErrorCode } from "@omnibus/core";
import { describe, expect, it } from "vitest";
import { fromUrl, nats } from "./index.js";
import { parseUrl, resolveOptions } from "./options.js";

describe("parseUrl", () => {
  it("reads servers, credentials and parameters", () => {
    expect(parseUrl("nats://127.0.0.1:4222")).toEqual({ servers: ["127.0.0.1:4222"], connection: {} });
    expect(parseUrl("nats://alice:s%40cret@a:1,b:2,[::1]:3?name=app")).toEqual({
      servers: ["a:1", "b:2", "[::1]:3"],
      connection: { user: "alice", pass: "s@cret", name: "app" },
    });
    // A list in NATS's own form, the scheme repeated per server.
    expect(parseUrl("nats://a:1,nats://b:2")).toEqual({ servers: ["a:1", "b:2"], connection: {} });
    expect(parseUrl("nats://tok@host?tls=true")).toEqual({
      servers: ["host"],
      connection: { token: "tok", tls: {} },
    });
  });

  it.each([
    "http://x",
    "nats://",
    "nats://a b",
    "nats://h:1?nope=1",
    "nats://h?tls=maybe",
    "nats://127.0.0.1:99999",
    "nats://h:0",
    "nats://a:4222,b:65536",
  ])("rejects %j with a ConfigError", (url) => {
    expect(() => parseUrl(url)).toThrowError(expect.objectContaining({ code: ErrorCode.Config }));
  });

  it("never shows the password of a bad URL", () => {
    expect(() => parseUrl("nats://bob:hunter2@bad host")).toThrowError(
      expect.objectContaining({ message: expect.not.stringContaining("hunter2") }),
    );
  });
});

describe("resolveOptions", () => {
  it("fills every default", () => {
    expect(resolveOptions({})).toMatchObject({
      url: "nats://127.0.0.1:4222",
      servers: ["127.0.0.1:4222"],
      storage: "file",
      ackWaitMs: 30_000,
      streamPrefix: "OMNIBUS",
      subjectPrefix: "omnibus",
      connection: { name: "omnibus" },
    });
  });

  it.each([
    { ackWaitMs: 10 },
    { storage: "disk" },
    { replicas: 0 },
    { streamPrefix: "A.B" },
    { nope: true },
    { maxInFlight: 1.5 },
  ])("rejects %j", (options) => {
    expect(() => resolveOptions(options as never)).toThrowError(
      expect.objectContaining({ code: ErrorCode.Config }),
    );
  });

  it("declares features from the options", () => {
    expect(nats().features).toMatchObject({ persistent: true, fanout: true, delay: false, priority: false });
    expect(nats({ storage: "memory" }).features.persistent).toBe(false);
    expect(fromUrl("nats://h:1", { ackWaitMs: 5000 }).name).toBe("nats");
  });
});
