/**
 * How each SPI-boundary fault of `list.ts` is put in: a wrapper around the memory adapter.
 * Faults that need state shared by all adapters of one run (what was nacked, a topic's history)
 * keep it in this module: every fault runs in its own process.
 * @module
 */
import { randomUUID } from "node:crypto";
import {
  type Adapter,
  ConnectionError,
  type Delivery,
  type InboundMessage,
  type Logger,
  PublishError,
} from "@omnibus/core";
import { type Hooks, mapMessage, mapNames, withSettle } from "./wrap.js";

const lower = (headers: Readonly<Record<string, string>>) =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
const later = (ms: number, fn: () => void) => setTimeout(fn, ms);

// State shared across the adapters of one run.
const nacks = new Map<string, number>();
const originals = new Map<string, Uint8Array>();
const firstBodies = new Map<string, Uint8Array>();
const replacedIds = new Map<string, string>();
const topicHistory = new Map<string, InboundMessage[]>();
const groupsSeen = new Map<string, Set<string>>();
const firstGroup = new Map<string, string>();

/** Per-consumer list of deliveries handed out and not settled, in order. */
function tracked(scope: { state: Record<string, any> }): Delivery[] {
  return (scope.state.unsettled ??= []);
}

export const spiFaults: Record<string, (inner: Adapter) => Hooks> = {
  "body-truncated-64k": () => ({
    delivery: mapMessage((m) =>
      m.body.byteLength > 65_536 ? { ...m, body: m.body.subarray(0, 65_536) } : m,
    ),
  }),
  "body-aliased": () => ({
    send: (inner, address, messages) => {
      for (const m of messages) originals.set(m.id, m.body);
      return inner.send(address, messages);
    },
    delivery: mapMessage((m) => ({ ...m, body: originals.get(m.id) ?? m.body })),
  }),
  "redelivery-mutated": () => ({
    delivery: mapMessage((m) => {
      const first = firstBodies.get(m.id);
      if (first) return { ...m, body: first };
      firstBodies.set(m.id, m.body);
      return m;
    }),
  }),
  "header-names-lowercased": () => ({ delivery: mapMessage((m) => ({ ...m, headers: lower(m.headers) })) }),
  "header-empty-dropped": () => ({
    delivery: mapMessage((m) => ({
      ...m,
      headers: Object.fromEntries(Object.entries(m.headers).filter(([, v]) => v !== "")),
    })),
  }),
  "header-unicode-mangled": () => ({
    delivery: mapMessage((m) => ({
      ...m,
      headers: Object.fromEntries(
        Object.entries(m.headers).map(([k, v]) => [k, Buffer.from(v, "utf8").toString("latin1")]),
      ),
    })),
  }),
  "timestamp-at-delivery": () => ({ delivery: mapMessage((m) => ({ ...m, timestamp: Date.now() })) }),
  "key-dropped": () => ({ delivery: mapMessage((m) => ({ ...m, key: undefined })) }),
  "correlation-reply-dropped": () => ({
    delivery: mapMessage((m) => ({ ...m, correlationId: undefined, replyTo: undefined })),
  }),
  "id-replaced": () => ({
    delivery: mapMessage((m) => {
      let id = replacedIds.get(m.id);
      if (!id) replacedIds.set(m.id, (id = randomUUID()));
      return { ...m, id };
    }),
  }),
  "max-size-rejected": () => ({
    send: (inner, address, messages) => {
      const half = inner.features.maxMessageBytes / 2;
      if (messages.some((m) => m.body.byteLength > half))
        return Promise.reject(new PublishError("memory: the broker refused a message over its real limit"));
      return inner.send(address, messages);
    },
  }),

  // -- settlement
  "ack-cumulative": () => ({
    delivery: (d, scope) => {
      const list = tracked(scope);
      const own: Delivery = {
        message: d.message,
        ack: async () => {
          const index = list.indexOf(own);
          const earlier = index < 0 ? [] : list.splice(0, index + 1);
          for (const e of earlier) if (e !== own) await (e as any).inner.ack();
          await d.ack();
        },
        nack: async (o) => {
          const index = list.indexOf(own);
          if (index >= 0) list.splice(index, 1);
          await d.nack(o);
        },
      };
      (own as any).inner = d;
      list.push(own);
      scope.deliver(own);
    },
  }),
  "double-ack-frees-two": () => ({
    // The wrapper does its own flow control (as drivers over push-style clients do) and counts
    // every settle call, guarded or not.
    prefetch: () => 1_000_000,
    delivery: (d, scope) => {
      const st = scope.state;
      st.buffer ??= [];
      st.outstanding ??= 0;
      const limit = scope.options.prefetch;
      const pump = () => {
        while (st.outstanding < limit && st.buffer.length > 0) {
          st.outstanding++;
          scope.deliver(st.buffer.shift());
        }
      };
      const release = () => {
        st.outstanding--;
        pump();
      };
      st.buffer.push(
        withSettle(d, {
          ack: async () => {
            await d.ack();
            release();
          },
          nack: async (o) => {
            await d.nack(o);
            release();
          },
        }),
      );
      pump();
    },
  }),
  "nack-after-ack-redelivers": (inner) => ({
    delivery: (d, scope) => {
      let acked = false;
      scope.deliver(
        withSettle(d, {
          ack: async () => {
            acked = true;
            await d.ack();
          },
          nack: async (o) => {
            if (!acked) return d.nack(o);
            // Put "it" back: a copy of the message, as a driver emulating nack by republishing.
            const m = d.message;
            await inner.send({ kind: "queue", name: scope.source.name }, [
              {
                id: m.id,
                body: m.body,
                headers: m.headers,
                key: m.key,
                correlationId: m.correlationId,
                replyTo: m.replyTo,
                timestamp: m.timestamp,
              },
            ]);
          },
        }),
      );
    },
  }),
  "ack-batched-lost-on-close": () => ({
    delivery: (d, scope) => {
      const st = scope.state;
      st.pending ??= new Set<Delivery>();
      scope.deliver(
        withSettle(d, {
          ack: async () => {
            st.pending.add(d);
            st.timer ??= later(200, () => {
              st.timer = undefined;
              for (const p of st.pending) void p.ack();
              st.pending.clear();
            });
          },
        }),
      );
    },
    closeConsumer: async (scope) => {
      clearTimeout(scope.state.timer);
      scope.state.pending?.clear();
      await scope.inner!.close();
    },
  }),
  "nack-delay-seconds": () => ({
    delivery: (d, scope) =>
      scope.deliver(withSettle(d, { nack: (o) => d.nack(o?.delayMs ? { delayMs: o.delayMs * 1000 } : o) })),
  }),
  "nack-delay-ignored": () => ({
    delivery: (d, scope) => scope.deliver(withSettle(d, { nack: () => d.nack() })),
  }),
  "delayed-nack-lost-on-close": (inner) => ({
    delivery: (d, scope) => {
      const st = scope.state;
      st.timers ??= new Set<NodeJS.Timeout>();
      scope.deliver(
        withSettle(d, {
          nack: async (o) => {
            if (!o?.delayMs) return d.nack(o);
            // Emulated delay: ack now, resend when the timer fires (in this process only).
            await d.ack();
            const m = d.message;
            const timer = later(o.delayMs, () => {
              st.timers.delete(timer);
              void inner.send({ kind: "queue", name: scope.source.name }, [
                {
                  id: m.id,
                  body: m.body,
                  headers: m.headers,
                  key: m.key,
                  correlationId: m.correlationId,
                  replyTo: m.replyTo,
                  timestamp: m.timestamp,
                },
              ]);
            });
            st.timers.add(timer);
          },
        }),
      );
    },
    closeConsumer: async (scope) => {
      for (const t of scope.state.timers ?? []) clearTimeout(t);
      await scope.inner!.close();
    },
  }),

  // -- attempts
  "attempt-not-counted-on-crash": () => ({
    delivery: (d, scope) => {
      const m = d.message;
      const counted = { ...m, attempt: 1 + (nacks.get(m.id) ?? 0) };
      scope.deliver({
        message: counted,
        ack: () => d.ack(),
        nack: (o) => {
          nacks.set(m.id, (nacks.get(m.id) ?? 0) + 1);
          return d.nack(o);
        },
      });
    },
  }),
  "attempt-always-one": () => ({ delivery: mapMessage((m) => ({ ...m, attempt: 1 })) }),

  // -- flow control and lifecycle
  "prefetch-ignored": () => ({ prefetch: () => 1_000_000 }),
  "lease-not-extended": () => ({
    delivery: (d, scope) => {
      let expired = false;
      let settled = false;
      const timer = later(LEASE_MS, () => {
        if (settled) return;
        expired = true; // the broker takes it back and hands it out again
        void d.nack();
      });
      scope.deliver({
        message: d.message,
        ack: async () => {
          settled = true;
          clearTimeout(timer);
          if (!expired) await d.ack();
        },
        nack: async (o) => {
          settled = true;
          clearTimeout(timer);
          if (!expired) await d.nack(o);
        },
      });
    },
  }),
  "stop-noop": () => ({ stop: async () => {} }),
  "stop-keeps-prefetched": () => ({
    delivery: (d, scope) => {
      if (scope.state.stopped) return; // fetched after stop: held, neither handed out nor released
      scope.deliver(d);
    },
    stop: async (scope) => {
      scope.state.stopped = true;
    },
  }),
  "close-acks-unsettled": () => ({
    delivery: (d, scope) => {
      const list = tracked(scope);
      list.push(d);
      const done = () => {
        const i = list.indexOf(d);
        if (i >= 0) list.splice(i, 1);
      };
      scope.deliver(
        withSettle(d, {
          ack: () => {
            done();
            return d.ack();
          },
          nack: (o) => {
            done();
            return d.nack(o);
          },
        }),
      );
    },
    closeConsumer: async (scope) => {
      for (const d of tracked(scope).splice(0)) await d.ack();
      await scope.inner!.close();
    },
  }),
  "close-keeps-unsettled": () => ({ close: async () => {} }),
  "ephemeral-not-deleted": () => ({
    source: (s) => (s.kind === "queue" && s.ephemeral ? { kind: "queue", name: s.name } : s),
  }),
  "connect-not-idempotent": () => ({
    connect: (inner, calls) =>
      calls === 1 ? inner.connect() : Promise.reject(new ConnectionError("memory: already connected")),
  }),
  "native-undefined": () => ({ native: () => undefined }),
  "close-hangs-with-unsettled": (inner) => {
    let unsettled = 0;
    return {
      delivery: (d, scope) => {
        unsettled++;
        let done = false;
        const settle = () => {
          if (!done) unsettled--;
          done = true;
        };
        scope.deliver(
          withSettle(d, {
            ack: () => {
              settle();
              return d.ack();
            },
            nack: (o) => {
              settle();
              return d.nack(o);
            },
          }),
        );
      },
      close: () => (unsettled > 0 ? new Promise<void>(() => {}) : inner.close()),
    };
  },

  // -- sending
  "send-unconfirmed": (inner) => {
    const pending = new Set<NodeJS.Timeout>();
    return {
      send: async (_inner, address, messages) => {
        const copy = messages.map((m) => ({ ...m, body: new Uint8Array(m.body) }));
        const timer = later(50, () => {
          pending.delete(timer);
          void inner.send(address, copy);
        });
        pending.add(timer);
      },
      close: async () => {
        for (const t of pending) clearTimeout(t);
        await inner.close();
      },
    };
  },
  "batch-last-dropped": () => ({
    send: (inner, address, messages) =>
      inner.send(address, messages.length > 50 ? messages.slice(0, -1) : messages),
  }),
  "concurrent-sends-lost": () => {
    let inFlight = 0;
    return {
      send: async (inner, address, messages) => {
        if (inFlight > 0) return; // "merged into the batch in flight", after it was written
        inFlight++;
        try {
          await new Promise((resolve) => setImmediate(resolve));
          await inner.send(address, messages);
        } finally {
          inFlight--;
        }
      },
    };
  },
  "deletequeue-breaks-sends": () => {
    let broken = false;
    return {
      deleteQueue: async (inner, name) => {
        await inner.deleteQueue!(name);
        broken = true;
      },
      send: (inner, address, messages) =>
        broken
          ? Promise.reject(new PublishError("memory: this server does not host this topic-partition"))
          : inner.send(address, messages),
    };
  },
  "delay-ignored": () => ({
    send: (inner, address, messages) =>
      inner.send(
        address,
        messages.map((m) => ({ ...m, delayMs: undefined })),
      ),
  }),
  "priority-ignored": () => ({
    send: (inner, address, messages) =>
      inner.send(
        address,
        messages.map((m) => ({ ...m, priority: undefined })),
      ),
  }),

  // -- ordering, topics, names
  "ordering-swapped": () => ({
    delivery: (d, scope) => {
      const st = scope.state;
      if (st.held) {
        clearTimeout(st.timer);
        const held = st.held;
        st.held = undefined;
        scope.deliver(d);
        scope.deliver(held);
        return;
      }
      st.held = d;
      st.timer = later(20, () => {
        const held = st.held;
        st.held = undefined;
        if (held) scope.deliver(held);
      });
    },
  }),
  "fanout-first-group-only": () => ({
    started: (scope) => {
      if (scope.source.kind === "topic" && !firstGroup.has(scope.source.name))
        firstGroup.set(scope.source.name, scope.source.group);
    },
    delivery: (d, scope) => {
      const s = scope.source;
      if (s.kind === "topic" && firstGroup.has(s.name) && firstGroup.get(s.name) !== s.group) {
        void d.ack(); // never reaches this group
        return;
      }
      scope.deliver(d);
    },
  }),
  "group-replays-history": () => ({
    send: (inner, address, messages) => {
      if (address.kind === "topic") {
        const history = topicHistory.get(address.name) ?? [];
        for (const m of messages) history.push({ ...m, attempt: 1, native: undefined });
        topicHistory.set(address.name, history);
      }
      return inner.send(address, messages);
    },
    started: (scope) => {
      const s = scope.source;
      if (s.kind !== "topic") return;
      const seen = groupsSeen.get(s.name) ?? new Set<string>();
      groupsSeen.set(s.name, seen);
      if (seen.has(s.group)) return;
      seen.add(s.group);
      // A new group starting at the beginning of the topic: its history is delivered too.
      for (const m of topicHistory.get(s.name) ?? [])
        scope.deliver({
          message: { ...m, body: new Uint8Array(m.body) },
          ack: async () => {},
          nack: async () => {},
        });
    },
    ensureGroup: async (inner, topic, group) => {
      const seen = groupsSeen.get(topic) ?? new Set<string>();
      groupsSeen.set(topic, seen);
      seen.add(group);
      await inner.ensureGroup!(topic, group);
    },
  }),
  "group-members-all-get": () => ({
    source: (s) => (s.kind === "topic" ? { ...s, group: `${s.group}-${randomUUID().slice(0, 8)}` } : s),
  }),
  "names-case-insensitive": () => mapNames((n) => n.toLowerCase()),
  "names-punctuation-folded": () => mapNames((n) => n.replace(/[._-]/g, "_")),
  "names-truncated": () => mapNames((n) => n.slice(0, 64)),
  "nack-redelivery-late": () => ({
    delivery: (d, scope) =>
      scope.deliver(withSettle(d, { nack: (o) => d.nack({ delayMs: (o?.delayMs ?? 0) + 2_500 }) })),
  }),
  "ack-noop": () => ({ delivery: (d, scope) => scope.deliver(withSettle(d, { ack: async () => {} })) }),
  "nack-drops": () => ({ delivery: (d, scope) => scope.deliver(withSettle(d, { nack: () => d.ack() })) }),
  "redelivery-drops-headers": () => ({
    delivery: mapMessage((m) => (m.attempt > 1 ? { ...m, headers: {} } : m)),
  }),
  "attempt-from-zero": () => ({ delivery: mapMessage((m) => ({ ...m, attempt: m.attempt - 1 })) }),
  "batch-delay-shared": () => ({
    send: (inner, address, messages) =>
      inner.send(
        address,
        messages.map((m) => ({ ...m, delayMs: messages[0]!.delayMs })),
      ),
  }),
  "priority-inverted": () => ({
    send: (inner, address, messages) =>
      inner.send(
        address,
        messages.map((m) => ({
          ...m,
          priority: m.priority === undefined ? undefined : inner.features.maxPriority - m.priority,
        })),
      ),
  }),
  "consumer-stalls": () => ({
    delivery: (d, scope) => {
      scope.state.count = (scope.state.count ?? 0) + 1;
      if (scope.state.count <= 100) scope.deliver(d);
    },
  }),
  "empty-body-padded": () => ({
    delivery: mapMessage((m) => (m.body.byteLength === 0 ? { ...m, body: new Uint8Array(1) } : m)),
  }),
  "stop-releases-inflight": () => ({
    delivery: (d, scope) => {
      const list = tracked(scope);
      let settled = false;
      const wrapped = withSettle(d, {
        ack: async () => {
          if (settled) return;
          settled = true;
          await d.ack();
        },
        nack: async (o) => {
          if (settled) return;
          settled = true;
          await d.nack(o);
        },
      });
      list.push(wrapped);
      scope.deliver(wrapped);
    },
    stop: async (scope) => {
      await scope.inner!.stop();
      for (const d of tracked(scope).splice(0)) await d.nack();
    },
  }),
  "fanout-duplicates": (inner) => ({
    send: async (_inner, address, messages) => {
      await inner.send(address, messages);
      if (address.kind === "topic") await inner.send(address, messages);
    },
  }),
  "send-reverses-batch": () => ({
    send: (inner, address, messages) => inner.send(address, [...messages].reverse()),
  }),
  // A chatty client library: prints its connection options, password included, as it connects.
  "live-password-printed": (inner) => ({
    connect: (_inner, calls) => {
      if (calls === 1) process.stderr.write(`[client] connecting ${JSON.stringify({ url: LIVE_URL })}\n`);
      return inner.connect();
    },
  }),
  // The adapter traces the commands it writes at debug level, its AUTH command's arguments too
  // (not URL-shaped and not a field named like a secret: core's redaction cannot find it).
  "live-password-in-log": (inner) => {
    let logger: Logger | undefined;
    return {
      useLogger: (l) => {
        logger = l;
      },
      connect: () => {
        logger?.debug(`memory: > AUTH admin ${LIVE_PASSWORD}`);
        return inner.connect();
      },
    };
  },
  // The unreachable faults live in `unreachableSubject` (the subject's `unreachable` adapter).
  "unreachable-password-in-cause": () => ({}),
  "unreachable-hangs": () => ({}),
  "unreachable-wrong-code": () => ({}),
  "unreachable-password-logged": () => ({}),
};

/** The password the fault subject "connects" with (its `password` option): in no log line or error. */
export const LIVE_PASSWORD = "SentinelLive7c1e";
const LIVE_URL = `memory://admin:${LIVE_PASSWORD}@localhost`;

/** The lease the fault subject declares; `lease-not-extended` expires deliveries after it. */
export const LEASE_MS = 300;

/**
 * A correct adapter for an unreachable broker (the subject's `unreachable`): connect and send
 * fail soon with a ConnectionError that names the URL with its password masked. The unreachable
 * faults change it.
 */
export function unreachableSubject(password: string, fault: string | undefined): Adapter {
  const url = `memory://admin:${password}@nowhere.invalid:1`;
  const refuse = () => {
    if (fault === "unreachable-hangs") return new Promise<void>(() => {});
    if (fault === "unreachable-password-logged")
      process.stderr.write(
        `[client] connection failed: ${JSON.stringify({ host: "nowhere.invalid", user: "admin", password })}\n`,
      );
    if (fault === "unreachable-wrong-code") return Promise.reject(new Error("connection refused"));
    // The leaky cause holds the password as client libraries do (ioredis keeps the AUTH command's
    // arguments): not URL-shaped, so no generic masking can find it.
    const cause =
      fault === "unreachable-password-in-cause"
        ? Object.assign(new Error("WRONGPASS invalid username-password pair"), {
            command: { name: "auth", args: ["admin", password] },
          })
        : Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    return new Promise<void>((_, reject) =>
      setTimeout(() => reject(new ConnectionError(`memory: cannot connect to ${url}`, { cause })), 20),
    );
  };
  return {
    name: "memory",
    features: {
      persistent: false,
      fanout: true,
      orderingByKey: true,
      delay: true,
      maxDelayMs: 2 ** 31 - 1,
      priority: true,
      maxPriority: 9,
      maxMessageBytes: 1024 * 1024,
      maxBatchSize: Number.POSITIVE_INFINITY,
    },
    native: {},
    connect: refuse,
    send: () => refuse(),
    consume: () => refuse().then(() => ({ stop: async () => {}, close: async () => {} })),
    close: async () => {},
  };
}
