import { describe, expect, it } from "vitest";
import { escapeName, groupConsumer, MAX_TOKEN, queueNames, topicNames, unescapeName } from "./names.js";

const prefixes = { stream: "OMNIBUS", subject: "omnibus" };
const STREAM_NAME = /^[A-Za-z0-9_-]+$/;

describe("escapeName", () => {
  const names = ["orders", "a.b", "a_b", "a_db", "a__b", "a._b", "a_.b", "x-y", "Q.dlq", "omnibus.inbox.abc"];

  it("is injective over tricky names", () => {
    const escaped = names.map(escapeName);
    expect(new Set(escaped).size).toBe(names.length);
  });

  it.each(names)("maps %j to a valid stream/subject token and back", (n) => {
    const e = escapeName(n);
    expect(e).toMatch(STREAM_NAME);
    expect(unescapeName(e)).toBe(n);
  });

  it("hashes long names, keeping them distinct and bounded", () => {
    const a = "a.".repeat(99) + "a";
    const b = "a.".repeat(99) + "b";
    expect(escapeName(a).length).toBeLessThanOrEqual(MAX_TOKEN);
    expect(escapeName(a)).not.toBe(escapeName(b));
    expect(escapeName(a)).toMatch(STREAM_NAME);
    expect(unescapeName(escapeName(a))).toBeUndefined();
  });

  it("keeps queue, topic and group names apart", () => {
    expect(queueNames(prefixes, "a.b")).toEqual({ stream: "OMNIBUS_Q_a_db", subject: "omnibus.q.a_db" });
    expect(topicNames(prefixes, "a.b")).toEqual({ stream: "OMNIBUS_T_a_db", subject: "omnibus.t.a_db" });
    expect(groupConsumer("billing.eu")).toBe("g_billing_deu");
  });
});
