import { ConfigError } from "@omnibus/core";
import { describe, expect, it } from "vitest";
import { resolveOptions } from "./options.js";

describe("options and URL", () => {
  it("has defaults", () => {
    const o = resolveOptions();
    expect(o).toMatchObject({
      host: "127.0.0.1",
      port: 61616,
      tls: false,
      username: undefined,
      publishTimeoutMs: 10_000,
    });
  });

  it("reads credentials, host, port, TLS and parameters from the URL; options win", () => {
    const o = resolveOptions({
      url: "amqp10s://us%40er:p%3Ass@broker.example:5671?publishTimeoutMs=2500&connectTimeoutMs=900",
    });
    expect(o).toMatchObject({
      host: "broker.example",
      port: 5671,
      tls: true,
      username: "us@er",
      password: "p:ss",
      publishTimeoutMs: 2500,
      connectTimeoutMs: 900,
    });
    expect(
      resolveOptions({ url: "activemq://h?publishTimeoutMs=2500", publishTimeoutMs: 700 }).publishTimeoutMs,
    ).toBe(700);
  });

  it("refuses bad input with a ConfigError that never holds the password", () => {
    for (const bad of [
      { url: "amqp://u:secret-pw@h:1" }, // RabbitMQ's scheme
      { url: "activemq://u:secret-pw@h:1?nope=1" },
      { url: "activemq://u:secret-pw@h:99999" },
      { url: "activemq://u:secret-pw@h?publishTimeoutMs=abc" },
      { publishTimeoutMs: -1 },
      { unknown: 1 } as never,
    ]) {
      let error: unknown;
      try {
        resolveOptions(bad);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect(String((error as Error).message)).not.toContain("secret-pw");
    }
  });
});
