import { Redis } from "ioredis";

const c = new Redis(6391);
const r = new Redis(6391);
const body = Buffer.alloc(256, 120);
const variants: Record<string, (i: number) => (string | Buffer)[]> = {
  "1 field": () => ["d", body],
  "2 fields": (i) => [
    "m",
    `{"id":"0190a0b0-1111-7000-8000-${String(i).padStart(12, "0")}","h":{"omnibus-content-type":"application/json"},"t":1700000000000}`,
    "body",
    body,
  ],
  "4 fields": (i) => [
    "id",
    `0190a0b0-1111-7000-8000-${String(i).padStart(12, "0")}`,
    "body",
    body,
    "headers",
    '{"omnibus-content-type":"application/json"}',
    "timestamp",
    "1700000000000",
  ],
};
async function cpu() {
  const i = await c.info("cpu");
  return Number(/used_cpu_user:([\d.]+)/.exec(i)![1]) + Number(/used_cpu_sys:([\d.]+)/.exec(i)![1]);
}
for (let round = 0; round < 2; round++)
  for (const [name, f] of Object.entries(variants)) {
    const key = `fc:${Math.random()}`;
    await c.xgroup("CREATE", key, "g", "0", "MKSTREAM");
    const s0 = await cpu();
    const u0 = process.cpuUsage();
    for (let i = 0; i < 20000; i += 500) {
      const p = c.pipeline();
      for (let j = i; j < i + 500; j++) p.xadd(key, "*", ...(f(j) as string[]));
      await p.exec();
    }
    let n = 0;
    while (n < 20000) {
      const rep = (await r.xreadgroupBuffer("GROUP", "g", "c", "COUNT", 500, "STREAMS", key, ">")) as any;
      const ids = rep[0][1].map((e: any) => e[0]);
      n += ids.length;
      await c.xack(key, "g", ...ids);
    }
    const s1 = await cpu();
    const u = process.cpuUsage(u0);
    console.log(
      name.padEnd(9),
      "server µs/msg",
      (((s1 - s0) * 1e6) / 20000).toFixed(2),
      "client",
      ((u.user + u.system) / 20000).toFixed(2),
    );
    await c.del(key);
  }
c.disconnect();
r.disconnect();
