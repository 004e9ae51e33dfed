import { ConfigError } from "@omnibus/core";
import { describe, expect, it } from "vitest";
import { resolveOptions } from "./options.js";

describe("resolveOptions", () => {
  it("reads an AWS URL: region as host, SNS on, the default credential chain", () => {
    const o = resolveOptions({ url: "sqs://eu-west-1?prefix=prod-" });
    expect(o).toMatchObject({ region: "eu-west-1", endpoint: undefined, snsEndpoint: "", prefix: "prod-" });
    expect(o.credentials).toBeUndefined();
    expect(resolveOptions({ url: "sqs://" }).region).toBeUndefined();
  });

  it("reads an emulator URL: endpoint, dummy credentials, SNS only when asked", () => {
    const o = resolveOptions({
      url: "sqs://127.0.0.1:9324?sns=http://127.0.0.1:4575&visibilityTimeout=3&fifo=true",
    });
    expect(o).toMatchObject({
      endpoint: "http://127.0.0.1:9324",
      snsEndpoint: "http://127.0.0.1:4575",
      region: "us-east-1",
      visibilityTimeoutSeconds: 3,
      fifo: true,
      autoCreate: true,
    });
    expect(o.credentials).toEqual({ accessKeyId: "omnibus", secretAccessKey: "omnibus" });
    expect(resolveOptions({ url: "sqs://localhost:4566" }).snsEndpoint).toBeUndefined();
    expect(resolveOptions({ url: "sqs://localhost:4566?sns=true" }).snsEndpoint).toBe(
      "http://localhost:4566",
    );
    expect(resolveOptions({ url: "sqs://sqs.example.com?tls=true" }).endpoint).toBe(
      "https://sqs.example.com",
    );
  });

  it("takes credentials from the URL and never shows the secret", () => {
    const o = resolveOptions({ url: "sqs://AKID:s%2Fe%2Bcret@127.0.0.1:9324?autoCreate=false" });
    expect(o.credentials).toEqual({ accessKeyId: "AKID", secretAccessKey: "s/e+cret" });
    expect(o.autoCreate).toBe(false);
    expect(o.display).not.toContain("cret");
  });

  it("lets explicit options override the URL", () => {
    const o = resolveOptions({
      url: "sqs://127.0.0.1:9324?prefix=a-",
      prefix: "b-",
      sns: false,
      waitTimeSeconds: 1,
    });
    expect(o).toMatchObject({ prefix: "b-", snsEndpoint: undefined, waitTimeSeconds: 1 });
  });

  it("rejects bad input with ConfigError, without the password", () => {
    const bad = [
      { url: "amqp://x" },
      { url: "sqs://k:hunter2@127.0.0.1:1?nope=1" },
      { url: "sqs://k:hunter2@127.0.0.1:1?visibilityTimeout=x" },
      { prefix: "a.b" },
      { waitTimeSeconds: 21 },
      { visibilityTimeoutSeconds: 0 },
      { endpoint: "ftp://x" },
    ];
    for (const options of bad) {
      let caught: unknown;
      try {
        resolveOptions(options);
      } catch (error) {
        caught = error;
      }
      expect(caught, JSON.stringify(options)).toBeInstanceOf(ConfigError);
      expect((caught as Error).message).not.toContain("hunter2");
    }
  });
});
