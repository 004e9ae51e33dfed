import type { Channel } from "amqplib";
import { describe, expect, it } from "vitest";
import { attachRetryDelay, ChannelState } from "./consumer.js";

function fakeChannel() {
  const acks: [number, boolean][] = [];
  const channel = {
    ack: (m: { fields: { deliveryTag: number } }, multiple: boolean) =>
      acks.push([m.fields.deliveryTag, multiple]),
  } as unknown as Channel;
  return { channel, acks };
}

describe("ack coalescing", () => {
  it("acks a contiguous run with one multiple ack", () => {
    const { channel, acks } = fakeChannel();
    const s = new ChannelState(channel);
    for (const tag of [2, 1, 3]) s.ack(tag);
    s.flush();
    expect(acks).toEqual([[3, true]]);
  });

  it("never covers an unsettled tag: tags above a gap are acked one by one", () => {
    const { channel, acks } = fakeChannel();
    const s = new ChannelState(channel);
    s.ack(1);
    s.ack(3);
    s.ack(4);
    s.flush();
    expect(acks).toEqual([
      [1, true],
      [3, false],
      [4, false],
    ]);
    acks.length = 0;
    s.ack(2); // the slow one finishes: only it is still outstanding
    s.ack(5);
    s.flush();
    expect(acks).toEqual([[5, true]]);
  });

  it("counts a tag settled by nack as settled without acking it", () => {
    const { channel, acks } = fakeChannel();
    const s = new ChannelState(channel);
    s.settledElsewhere(1);
    s.ack(2);
    s.flush();
    expect(acks).toEqual([[2, true]]);
    acks.length = 0;
    s.settledElsewhere(3);
    s.ack(4);
    s.ack(5);
    s.flush();
    expect(acks).toEqual([[5, true]]);
  });

  it("sends nothing once the channel is closed", () => {
    const { channel, acks } = fakeChannel();
    const s = new ChannelState(channel);
    s.ack(1);
    s.open = false;
    s.flush();
    s.ack(2);
    s.flush();
    expect(acks).toEqual([]);
  });

  it("batches acks made in the same tick", async () => {
    const { channel, acks } = fakeChannel();
    const s = new ChannelState(channel);
    for (let t = 1; t <= 100; t++) s.ack(t);
    await Promise.resolve();
    expect(acks).toEqual([[100, true]]);
  });
});

describe("attach retries", () => {
  it("wait 100 ms doubling to at most 1 s, however many attempts failed", () => {
    expect([1, 2, 3, 4, 5, 6, 50].map(attachRetryDelay)).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });
});
