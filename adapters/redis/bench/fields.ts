import { Redis } from "ioredis";
import { BatchPacker } from "../src/codec.js";
import { SEND } from "../src/scripts.js";

const c = new Redis(process.env.OMNIBUS_REDIS_URL ?? "redis://127.0.0.1:6391");
const lua = `local n = 0
for i = 1, tonumber(ARGV[1]) do
  redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3, 2 + tonumber(ARGV[2])))
  n = n + 1
end
return n`;
const body = Buffer.alloc(256, 120);
const many = [
  "id",
  "0190a0b0-1111-7000-8000-123456789abc",
  "body",
  body,
  "headers",
  '{"omnibus-content-type":"application/json"}',
  "timestamp",
  "1700000000000",
];
const packer = new BatchPacker();
for (let i = 0; i < 500; i++)
  packer.add(
    {
      id: "0190a0b0-1111-7000-8000-123456789abc",
      body,
      headers: { "omnibus-content-type": "application/json" },
      timestamp: 1700000000000,
    },
    0,
    "",
  );
const batch = Buffer.from(packer.finish());
async function cpu() {
  const i = await c.info("cpu");
  return Number(/used_cpu_user:([\d.]+)/.exec(i)![1]) + Number(/used_cpu_sys:([\d.]+)/.exec(i)![1]);
}
for (let round = 0; round < 2; round++) {
  for (const name of ["args loop", "SEND msgpack", "pipeline XADD"]) {
    const key = `fields:${Math.random()}`;
    const s0 = await cpu();
    for (let r = 0; r < 40; r++) {
      if (name === "args loop") await c.eval(lua, 1, key, 500, many.length, ...many);
      else if (name === "SEND msgpack") await c.eval(SEND, 2, key, key + "d", "0", batch);
      else {
        const p = c.pipeline();
        for (let i = 0; i < 500; i++) p.xadd(key, "*", ...(many as string[]));
        await p.exec();
      }
    }
    const s1 = await cpu();
    console.log(
      name.padEnd(14),
      "server µs/msg",
      (((s1 - s0) * 1e6) / 20000).toFixed(2),
      "len",
      await c.xlen(key),
    );
    await c.del(key);
  }
}
c.disconnect();
