import { BatchPacker } from "../src/codec.js";

const body = Buffer.alloc(256, 120);
const msgs = Array.from({ length: 500 }, (_, i) => ({
  id: `0190a0b0-1111-7000-8000-${String(i).padStart(12, "0")}`,
  body,
  headers: { "omnibus-content-type": "application/json" },
  timestamp: 1700000000000 + i,
}));
for (let r = 0; r < 5; r++) {
  const t0 = performance.now();
  for (let k = 0; k < 200; k++) {
    const p = new BatchPacker(200_000);
    for (const m of msgs) p.add(m, 0, "");
    p.finish();
  }
  console.log("µs/msg", (((performance.now() - t0) * 1000) / 100_000).toFixed(3));
}
