import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { BROKER_NAMES, BROKER_SPECS, localUrl, packageRoot } from "./config.js";
import { brokerUrl, maskUrl, TEST_PASSWORD, withTestPassword } from "./index.js";

const run = promisify(execFile);
const saved = process.env.OMNIBUS_RABBITMQ_URL;

afterEach(() => {
  if (saved === undefined) delete process.env.OMNIBUS_RABBITMQ_URL;
  else process.env.OMNIBUS_RABBITMQ_URL = saved;
});

describe("brokerUrl", () => {
  it("gives the default, or the environment's URL unmasked", () => {
    delete process.env.OMNIBUS_RABBITMQ_URL;
    expect(brokerUrl("rabbitmq")).toBe(`amqp://omnibus-test:${TEST_PASSWORD}@127.0.0.1:5672`);
    process.env.OMNIBUS_RABBITMQ_URL = "amqp://app:s3cret@127.0.0.1:5672/vh";
    expect(brokerUrl("rabbitmq")).toBe("amqp://app:s3cret@127.0.0.1:5672/vh");
  });

  it("has the documented defaults", () => {
    expect(brokerUrl("kafka")).toBe(process.env.OMNIBUS_KAFKA_BROKERS ?? "127.0.0.1:9092");
    expect(brokerUrl("sns")).toBe(process.env.OMNIBUS_SNS_ENDPOINT ?? "http://127.0.0.1:4575");
  });

  it("has no password but the test password in any default URL, nor in any local server's URL", () => {
    const urls = BROKER_NAMES.flatMap((name) => [BROKER_SPECS[name].defaultUrl, localUrl(name, 1234)]);
    const withPassword = urls.filter((url) => /^[a-z]+:\/\/[^/@]*:[^/@]*@/.test(url));
    expect(withPassword.length).toBe(4); // RabbitMQ and Artemis, default and local
    for (const url of withPassword) expect(decodeURIComponent(new URL(url).password)).toBe(TEST_PASSWORD);
  });
});

describe("maskUrl", () => {
  it("hides passwords and nothing else", () => {
    expect(maskUrl("amqp://app:s3cret@127.0.0.1:5672/vh")).toBe("amqp://app:***@127.0.0.1:5672/vh");
    expect(maskUrl("redis://:pw@127.0.0.1:6379/2")).toBe("redis://:***@127.0.0.1:6379/2");
    expect(maskUrl("nats://127.0.0.1:4222")).toBe("nats://127.0.0.1:4222");
    expect(maskUrl("127.0.0.1:9092,127.0.0.1:9093")).toBe("127.0.0.1:9092,127.0.0.1:9093");
  });
});

describe("pnpm brokers status", () => {
  it("prints the source and the URL with the password masked", async () => {
    const root = dirname(dirname(packageRoot()));
    const tsx = join(root, "node_modules", ".bin", "tsx");
    expect(existsSync(tsx)).toBe(true);
    const { stdout } = await run(
      tsx,
      ["--conditions=@omnibus/source", join(packageRoot(), "src/cli.ts"), "status", "rabbitmq"],
      {
        cwd: root,
        env: { ...process.env, OMNIBUS_RABBITMQ_URL: "amqp://app:s3cret@127.0.0.1:5672" },
        timeout: 20_000,
      },
    ).catch((error: { stdout: string }) => error); // exit 1 when it does not answer: the line is printed anyway
    expect(stdout).toMatch(/^rabbitmq\s+env\s+amqp:\/\/app:\*\*\*@127\.0\.0\.1:5672/m);
    expect(stdout).not.toContain("s3cret");
  }, 30_000);
});

describe("withTestPassword", () => {
  it("puts the user and the test password in a URL without a password", () => {
    expect(withTestPassword("redis://127.0.0.1:6379", "default")).toEqual({
      url: `redis://default:${TEST_PASSWORD}@127.0.0.1:6379`,
      password: TEST_PASSWORD,
    });
    expect(withTestPassword("postgres://postgres@127.0.0.1:5432/test", "x").url).toBe(
      `postgres://postgres:${TEST_PASSWORD}@127.0.0.1:5432/test`,
    );
  });

  it("keeps a URL's own password, scanned for only when long enough to search for", () => {
    expect(withTestPassword("amqp://u:long-enough-secret@h:1", "x")).toEqual({
      url: "amqp://u:long-enough-secret@h:1",
      password: "long-enough-secret",
    });
    expect(withTestPassword("amqp://guest:guest@h:1", "x").password).toBeUndefined();
  });
});
