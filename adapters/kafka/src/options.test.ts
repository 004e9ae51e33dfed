import { ErrorCode } from "@omnibus/core";
import { describe, expect, it } from "vitest";
import { fromUrl, kafka } from "./index.js";
import { parseKafkaUrl, resolveOptions } from "./options.js";

describe("options", () => {
  it("applies defaults", () => {
    const o = resolveOptions();
    expect(o.brokers).toEqual(["127.0.0.1:9092"]);
    expect(o.partitions).toBe(3);
    expect(o.replicationFactor).toBe(1);
    expect(o.idempotent).toBe(true);
  });

  it("reads host lists and URLs", () => {
    expect(resolveOptions({ brokers: "a:1,b" }).brokers).toEqual(["a:1", "b:9092"]);
    const parsed = parseKafkaUrl("kafka://u%40x:p%3Aw@h1:9093,h2/?partitions=6&mechanism=scram-sha-512");
    expect(parsed.brokers).toEqual(["h1:9093", "h2:9092"]);
    expect(parsed.options).toEqual({
      partitions: "6",
      sasl: { mechanism: "scram-sha-512", username: "u@x", password: "p:w" },
    });
    expect(parseKafkaUrl("kafkas://h").options.ssl).toBe(true);
    const o = resolveOptions({ brokers: "kafka://h:1?partitions=6", partitions: 2 });
    expect(o.partitions).toBe(2);
    expect(kafka({ brokers: "kafka://h:1?maxDelayMs=5000" }).features.maxDelayMs).toBe(5000);
  });

  it("rejects bad input with ConfigError and never shows the password", () => {
    const bad = [
      () => fromUrl("amqp://h"),
      () => fromUrl("kafka://user:secret@h:1?nope=1"),
      () => fromUrl("kafka://user:secret@"),
      () => fromUrl("kafka://user:secret@h:99999"),
      () => kafka({ partitions: 0 }),
      () => kafka({ heartbeatIntervalMs: 20_000 }),
      () => kafka({ brokers: [] }),
    ];
    for (const make of bad) {
      expect(make).toThrowError(
        expect.objectContaining({ code: ErrorCode.Config, message: expect.not.stringContaining("secret") }),
      );
    }
  });

  it("passes known options through fromUrl and ignores unknown ones", () => {
    const adapter = fromUrl("kafka://127.0.0.1:9092", { maxMessageBytes: 5000, somethingElse: true });
    expect(adapter.features.maxMessageBytes).toBe(5000);
    expect(adapter.name).toBe("kafka");
  });

  it("declares frozen features; maxDelayMs 0 turns delays off", async () => {
    const adapter = kafka();
    expect(Object.isFrozen(adapter.features)).toBe(true);
    expect(adapter.features).toMatchObject({ delay: true, maxDelayMs: 86_400_000 });
    expect(kafka({ maxDelayMs: 0 }).features.delay).toBe(false);
    await adapter.close();
  });
});
