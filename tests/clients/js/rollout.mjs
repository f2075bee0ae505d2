// The official Qdrant JavaScript client querying through an alias under a canary rollout, with no change to its calls:
// each user is a client configured with its own X-User-Id header (the client's `headers` option), and the server
// routes. Checks that answers come from both collections (payload `side`: v1 or v2), that a user always sees the
// same side (query and retrieve), and prints the split.
// Usage: node rollout.mjs http://127.0.0.1:PORT ALIAS
import assert from "node:assert/strict";
import { QdrantClient } from "@qdrant/js-client-rest";

const [url, alias] = process.argv.slice(2);
if (!url || !alias) {
  console.error("usage: node rollout.mjs <server url> <alias>");
  process.exit(2);
}

const sides = new Map();
try {
  for (let u = 0; u < 40; u++) {
    const user = `js-user-${u}`;
    const client = new QdrantClient({ url, checkCompatibility: false, headers: { "X-User-Id": user } });
    for (let r = 0; r < 3; r++) {
      const { points } = await client.query(alias, { query: [1, 0, 0, 0], limit: 1, with_payload: true });
      assert.equal(points.length, 1);
      const side = points[0].payload.side;
      assert.ok(side === "v1" || side === "v2", `unexpected payload ${JSON.stringify(points[0].payload)}`);
      if (sides.has(user)) assert.equal(side, sides.get(user), `${user} switched sides`);
      sides.set(user, side);
    }
    const [record] = await client.retrieve(alias, { ids: [1], with_payload: true });
    assert.equal(record.payload.side, sides.get(user), `${user}: retrieve and query answered from different sides`);
  }
} catch (error) {
  console.error(`FAIL ${error?.stack ?? error}`);
  if (error?.data) console.error(JSON.stringify(error.data));
  process.exit(1);
}

const v2 = [...sides.values()].filter((s) => s === "v2").length;
console.log(`users on v1: ${sides.size - v2}, on v2: ${v2}`);
if (v2 === 0 || v2 === sides.size) {
  console.error("FAIL every user saw the same side: the alias was not routed");
  process.exit(1);
}
console.log("all steps passed");
