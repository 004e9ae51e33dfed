import { Redis } from "ioredis";
import { BatchPacker } from "../src/codec.js";
import { SEND } from "../src/scripts.js";

const c = new Redis(6391);
const body = Buffer.alloc(256, 120);
const msgs = Array.from({ length: 500 }, (_, i) => ({
  id: `0190a0b0-1111-7000-8000-${String(i).padStart(12, "0")}`,
  body,
  headers: { "omnibus-content-type": "application/json" },
  timestamp: 1700000000000 + i,
}));
const packer = new BatchPacker();
for (const m of msgs) packer.add(m, 0, "");
const nested = Buffer.from(packer.finish());
// flat: array32 of all values: per message [k, ...fields]
const flatParts: Buffer[] = [];
let flatCount = 0;
const str = (s: string | Buffer) => {
  const b = typeof s === "string" ? Buffer.from(s) : s;
  const h = Buffer.alloc(5);
  h[0] = 0xdb;
  h.writeUInt32BE(b.length, 1);
  flatParts.push(h, b);
  flatCount++;
};
const args: (string | Buffer)[] = [];
for (const m of msgs) {
  const f = [
    "id",
    m.id,
    "body",
    m.body,
    "headers",
    JSON.stringify(m.headers),
    "timestamp",
    String(m.timestamp),
  ];
  str(String(f.length));
  for (const x of f) str(x);
  args.push("0", String(f.length), ...(f as string[]));
}
const hdr = Buffer.alloc(5);
hdr[0] = 0xdd;
hdr.writeUInt32BE(flatCount, 1);
const flat = Buffer.concat([hdr, ...flatParts]);
const FLAT = `local t = cmsgpack.unpack(ARGV[1]) local i = 1 local n = #t
while i <= n do local k = tonumber(t[i]) redis.call('XADD', KEYS[1], '*', unpack(t, i + 1, i + k)) i = i + k + 1 end return 1`;
const ARGS = `local i = 1 local n = #ARGV
while i <= n do local k = tonumber(ARGV[i + 1]) redis.call('XADD', KEYS[1], '*', unpack(ARGV, i + 2, i + 1 + k)) i = i + k + 2 end return 1`;
async function cpu() {
  const i = await c.info("cpu");
  return Number(/used_cpu_user:([\d.]+)/.exec(i)![1]) + Number(/used_cpu_sys:([\d.]+)/.exec(i)![1]);
}
for (let round = 0; round < 3; round++)
  for (const name of ["nested", "flat", "args", "pipeline"]) {
    const key = `lv:${Math.random()}`;
    const s0 = await cpu();
    const u0 = process.cpuUsage();
    for (let r = 0; r < 40; r++) {
      if (name === "nested") await c.eval(SEND, 2, key, key + "d", "0", nested);
      else if (name === "flat") await c.eval(FLAT, 1, key, flat);
      else if (name === "args") await c.eval(ARGS, 1, key, ...args);
      else {
        const p = c.pipeline();
        for (const m of msgs)
          p.xadd(
            key,
            "*",
            "id",
            m.id,
            "body",
            m.body,
            "headers",
            JSON.stringify(m.headers),
            "timestamp",
            String(m.timestamp),
          );
        await p.exec();
      }
    }
    const s1 = await cpu();
    const u = process.cpuUsage(u0);
    console.log(
      name.padEnd(9),
      "server µs/msg",
      (((s1 - s0) * 1e6) / 20000).toFixed(2),
      "client(send only, prebuilt except pipeline)",
      ((u.user + u.system) / 20000).toFixed(2),
      await c.xlen(key),
    );
    await c.del(key);
  }
c.disconnect();
