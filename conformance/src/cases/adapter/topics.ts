import { check, sameIds } from "../../assert.js";
import { adapterCase } from "../../case.js";
import { group, sendAll, topic } from "../helpers.js";

const fanoutOnly = ({ features }: { features: { fanout: boolean } }) =>
  features.fanout ? undefined : "features.fanout is false";

export const fanout = adapterCase({
  id: "adapter/fanout",
  title: "every group of a topic gets every message; two members of one group share them, each message once",
  skip: fanoutOnly,
  timeoutMs: 60_000,
  async run(ctx) {
    const address = topic(ctx, "fan");
    const a1 = await ctx.consume(await ctx.connect(), group(address, "a"), { autoAck: true });
    const a2 = await ctx.consume(await ctx.connect(), group(address, "a"), { autoAck: true });
    const b = await ctx.consume(await ctx.connect(), group(address, "b"), { autoAck: true });
    const producer = await ctx.connect();
    const messages = ctx.messages(100);
    await sendAll(producer, address, messages);
    const ids = messages.map((m) => m.id);
    await ctx.waitUntil(
      () => a1.received.length + a2.received.length >= 100 && b.received.length >= 100,
      45_000,
      () => `group a got ${a1.received.length + a2.received.length} of 100, group b ${b.received.length}`,
    );
    await ctx.observe(300);
    sameIds(b.ids(), ids, "messages of group b");
    sameIds([...a1.ids(), ...a2.ids()], ids, "messages across the two members of group a");
  },
});

export const groupStartsNow = adapterCase({
  id: "adapter/group-starts-now",
  title:
    "publishing to a topic with no group is not an error; a new group gets only what is published after it exists",
  skip: fanoutOnly,
  timeoutMs: 60_000,
  async run(ctx) {
    const address = topic(ctx, "fresh");
    const producer = await ctx.connect();
    await sendAll(producer, address, ctx.messages(3)); // nobody listens: may be dropped, must not fail
    const old = await ctx.consume(await ctx.connect(), group(address, "old"), { autoAck: true });
    const before = ctx.messages(5);
    await sendAll(producer, address, before);
    await ctx.waitUntil(
      () => old.received.length >= 5,
      20_000,
      () => `the existing group got ${old.received.length} of 5`,
    );
    const fresh = await ctx.consume(await ctx.connect(), group(address, "new"), { autoAck: true });
    const after = ctx.messages(5);
    await sendAll(producer, address, after);
    await ctx.waitUntil(
      () => after.every((m) => fresh.ids().includes(m.id)),
      20_000,
      () =>
        `the new group got ${after.filter((m) => fresh.ids().includes(m.id)).length} of the 5 published after it existed`,
    );
    await ctx.observe(500);
    const replayed = before.filter((m) => fresh.ids().includes(m.id)).length;
    check(replayed === 0, `the new group received ${replayed} messages published before it existed`);
    sameIds(
      fresh.ids(),
      after.map((m) => m.id),
      "messages of the new group",
    );
    sameIds(
      old.ids(),
      [...before, ...after].map((m) => m.id),
      "messages of the existing group",
    );
  },
});

export const groupKeptOffline = adapterCase({
  id: "adapter/group-offline",
  title:
    "a group keeps what is published while it has no consumer: once created (ensureGroup) and after its consumer left",
  skip: fanoutOnly,
  timeoutMs: 60_000,
  async run(ctx) {
    const address = topic(ctx, "offline");
    const adapter = await ctx.connect();
    let ensured = false;
    if (adapter.ensureGroup) {
      await adapter.ensureGroup(address.name, "early");
      ensured = true;
    }
    const away = await ctx.consume(await ctx.connect(), group(address, "away"), { autoAck: true });
    const warm = ctx.message();
    await adapter.send(address, [warm]);
    await ctx.waitUntil(
      () => away.received.length >= 1,
      20_000,
      () => "the group's consumer did not get the first message",
    );
    await ctx.bounded(away.handle.stop(), "away stop()");
    await ctx.bounded(away.handle.close(), "away close()");
    const meanwhile = ctx.messages(20);
    await sendAll(adapter, address, meanwhile);
    const back = await ctx.consume(await ctx.connect(), group(address, "away"), { autoAck: true });
    const early = ensured
      ? await ctx.consume(await ctx.connect(), group(address, "early"), { autoAck: true })
      : undefined;
    const ids = meanwhile.map((m) => m.id);
    await ctx.waitUntil(
      () => ids.every((id) => back.ids().includes(id)) && (!early || early.received.length >= 21),
      30_000,
      () =>
        `the group whose consumer left got ${ids.filter((id) => back.ids().includes(id)).length} of 20` +
        (early ? `; the group created by ensureGroup got ${early.received.length} of 21` : ""),
    );
    await ctx.observe(300);
    sameIds(back.ids(), ids, "messages published while the group had no consumer");
    if (early)
      sameIds(
        early.ids(),
        [warm.id, ...ids],
        "messages of the group made by ensureGroup before any consumer",
      );
  },
});
