/**
 * Omnibus names → Artemis addresses and queues. Injective: core's names are `[A-Za-z0-9._-]`, so
 * the `/` of topic addresses and group queues never occurs in a queue's name.
 *
 * | Omnibus                | Artemis                                                                |
 * | ---------------------- | ---------------------------------------------------------------------- |
 * | queue `q`              | anycast address `q` with its anycast queue `q`                         |
 * | topic `t`              | multicast address `topic/t`                                            |
 * | group `g` of topic `t` | durable multicast queue `topic/t/g` on it (FQQN `topic/t::topic/t/g`) |
 *
 * Queues keep their plain names, so that JMS or other AMQP clients of the broker see the same
 * queue. Topics get their own addresses: measured on Artemis 2.40, an address holding both an
 * anycast queue and multicast queues routes a message sent with either capability to both.
 * @module
 */

/** The multicast address of a topic. */
export function topicAddress(topic: string): string {
  return `topic/${topic}`;
}

/** The durable subscription queue of a group of a topic. */
export function groupQueue(topic: string, group: string): string {
  return `topic/${topic}/${group}`;
}

/** The fully qualified queue name (`address::queue`) of a group, for receivers and redeliveries. */
export function groupFqqn(topic: string, group: string): string {
  return `${topicAddress(topic)}::${groupQueue(topic, group)}`;
}
