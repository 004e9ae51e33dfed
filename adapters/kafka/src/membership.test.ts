import { Kafka, logLevel } from "kafkajs";
import { describe, expect, it } from "vitest";
import { Membership } from "./membership.js";
import { captureCluster } from "./targets.js";

const unknownMember = () =>
  Object.assign(new Error("The coordinator is not aware of this member"), { type: "UNKNOWN_MEMBER_ID" });

/** A cluster whose coordinator hands out member ids and knows the ones in `known`. */
function fakeCluster() {
  const sent: string[] = [];
  const known = new Set<string>();
  let next = 0;
  const coordinator = {
    async joinGroup(request: { memberId?: string; [key: string]: unknown }) {
      const id = request.memberId ?? "";
      sent.push(id);
      if (id !== "" && !known.has(id)) throw unknownMember();
      const memberId = id === "" ? `m${++next}` : id;
      known.add(memberId);
      return { memberId, generationId: next };
    },
  };
  const cluster = { findGroupCoordinator: async () => coordinator };
  return { cluster, sent, known };
}

describe("Membership", () => {
  it("rejoins with the member id it had when kafkajs restarts with an empty one", async () => {
    const { cluster, sent } = fakeCluster();
    const membership = new Membership();
    expect(membership.install(cluster)).toBe(true);
    const join = async (memberId: string) =>
      (await cluster.findGroupCoordinator()).joinGroup({ groupId: "g", memberId });
    expect((await join("")).memberId).toBe("m1");
    // kafkajs's own rejoin (a rebalance) keeps its id.
    expect((await join("m1")).memberId).toBe("m1");
    // A restarted kafkajs consumer starts with an empty id: it is sent as m1.
    expect((await join("")).memberId).toBe("m1");
    expect(sent).toEqual(["", "m1", "m1"]);
    expect(membership.rejoins).toBe(1);
  });

  it("joins as a new member when the coordinator no longer knows the old one", async () => {
    const { cluster, sent, known } = fakeCluster();
    const membership = new Membership();
    membership.install(cluster);
    const coordinator = await cluster.findGroupCoordinator();
    await coordinator.joinGroup({ memberId: "" });
    known.clear(); // the session expired
    expect((await coordinator.joinGroup({ memberId: "" })).memberId).toBe("m2");
    expect(sent).toEqual(["", "m1", ""]);
    expect(membership.memberId).toBe("m2");
  });

  it("wraps the coordinator of a kafkajs 2.2.4 consumer", () => {
    const kafka = new Kafka({ brokers: ["127.0.0.1:1"], logLevel: logLevel.NOTHING });
    const { client, cluster } = captureCluster(kafka, () => kafka.consumer({ groupId: "g" }));
    expect(typeof client.run).toBe("function");
    expect(new Membership().install(cluster)).toBe(true);
    expect(new Membership().install({})).toBe(false);
  });
});
