import { describe, expect, it } from "vitest";
import { probe, startPrivate } from "./index.js";
import { BrokerAbsentError, pubsubEmulatorJar } from "./servers.js";

function installed(): boolean {
  try {
    pubsubEmulatorJar();
    return true;
  } catch {
    return false;
  }
}

async function topics(address: string): Promise<string[]> {
  const response = await fetch(`http://${address}/v1/projects/omnibus-brokers/topics`);
  const body = (await response.json()) as { topics?: { name: string }[] };
  return (body.topics ?? []).map((t) => t.name);
}

// The Pub/Sub emulator is an optional broker: where it is not installed, only the message is tested.
describe("pubsub emulator", () => {
  it.skipIf(!installed())(
    "a private emulator starts, takes a topic, restarts empty (in memory) and dies with kill",
    async () => {
      await using broker = await startPrivate("pubsub");
      expect(broker.url).toBe(`127.0.0.1:${broker.port}`);
      const created = await fetch(`http://${broker.url}/v1/projects/omnibus-brokers/topics/probe`, {
        method: "PUT",
      });
      expect(created.status).toBe(200);
      expect(await topics(broker.url)).toContain("projects/omnibus-brokers/topics/probe");
      await broker.restart();
      expect(await topics(broker.url)).toEqual([]); // the emulator keeps nothing across a restart
      await broker.kill();
      await expect(probe("pubsub", broker.url, 1000)).rejects.toThrow();
    },
    60_000,
  );

  it("where it is absent, starting it fails naming the package", async () => {
    const saved = process.env.CLOUDSDK_ROOT_DIR;
    process.env.CLOUDSDK_ROOT_DIR = "/nonexistent-google-cloud-sdk";
    try {
      const error = await startPrivate("pubsub").then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(BrokerAbsentError);
      expect((error as Error).message).toContain("google-cloud-cli-pubsub-emulator");
    } finally {
      if (saved === undefined) delete process.env.CLOUDSDK_ROOT_DIR;
      else process.env.CLOUDSDK_ROOT_DIR = saved;
    }
  });
});
