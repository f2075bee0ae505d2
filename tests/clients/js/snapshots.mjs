// Qdrant's snapshot API through the official JavaScript client, against a running Vectorizer server.
// Usage: node snapshots.mjs http://127.0.0.1:PORT SNAPSHOTS_DIRECTORY [API_KEY]
// SNAPSHOTS_DIRECTORY is the server's backup.snapshots_directory (file:// recover locations must lie inside it).
// Exits 0 when every step behaves as Qdrant would; prints the failed step and exits 1 otherwise.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { QdrantClient } from "@qdrant/js-client-rest";

const [url, snapshots, apiKey] = process.argv.slice(2);
if (!url || !snapshots) {
  console.error("usage: node snapshots.mjs <server url> <snapshots directory> [api key]");
  process.exit(2);
}

const client = new QdrantClient({ url, apiKey, checkCompatibility: false });
const C = "js_snap";
const COPY = "js_snap_copy";

async function step(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (error) {
    console.error(`FAIL ${name}: ${error?.stack ?? error}`);
    if (error?.data) console.error(JSON.stringify(error.data));
    process.exit(1);
  }
}

const points = (from, count) =>
  Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return { id: i, vector: [Math.sin(i), Math.cos(i), Math.sin(i / 2), 1], payload: { i } };
  });

const count = async (name) => (await client.count(name, { exact: true })).count;
let snapshot;

await step("create a collection with points", async () => {
  for (const name of [C, COPY]) {
    if ((await client.collectionExists(name)).exists) await client.deleteCollection(name);
  }
  await client.createCollection(C, { vectors: { size: 4, distance: "Cosine" } });
  await client.upsert(C, { wait: true, points: points(1, 100) });
  assert.equal(await count(C), 100);
});

await step("createSnapshot", async () => {
  snapshot = await client.createSnapshot(C);
  assert.ok(snapshot.name.startsWith(C) && snapshot.name.endsWith(".snapshot"), snapshot.name);
  assert.ok(snapshot.size > 0);
  assert.match(snapshot.checksum, /^[0-9a-f]{64}$/);
  assert.match(snapshot.creation_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
});

await step("listSnapshots", async () => {
  const list = await client.listSnapshots(C);
  assert.deepEqual(list.map((s) => s.name), [snapshot.name]);
  assert.equal(list[0].checksum, snapshot.checksum);
});

await step("the snapshot downloads, and its SHA-256 is the checksum", async () => {
  const headers = apiKey ? { "api-key": apiKey } : {};
  const response = await fetch(`${url}/collections/${C}/snapshots/${snapshot.name}`, { headers });
  assert.equal(response.status, 200);
  const bytes = Buffer.from(await response.arrayBuffer());
  assert.equal(bytes.length, snapshot.size);
  assert.equal(createHash("sha256").update(bytes).digest("hex"), snapshot.checksum);
});

const location = `file://${snapshots}/${C}/${snapshot.name}`;

await step("recoverSnapshot from a file:// location brings the snapshot's state back", async () => {
  await client.upsert(C, { wait: true, points: points(1000, 20) });
  await client.delete(C, { wait: true, points: [1, 2, 3] });
  assert.equal(await count(C), 117);
  assert.equal(await client.recoverSnapshot(C, { location, checksum: snapshot.checksum, priority: "snapshot" }), true);
  assert.equal(await count(C), 100);
  const [point] = await client.retrieve(C, { ids: [1], with_payload: true });
  assert.equal(point.payload.i, 1);
});

await step("recoverSnapshot into another collection", async () => {
  assert.equal(await client.recoverSnapshot(COPY, { location }), true);
  assert.equal(await count(COPY), 100);
  const info = await client.getCollection(COPY);
  assert.equal(info.config.params.vectors.size, 4);
});

await step("a wrong checksum is refused and changes nothing", async () => {
  await client.upsert(C, { wait: true, points: points(2000, 1) });
  await assert.rejects(client.recoverSnapshot(C, { location, checksum: "0".repeat(64) }), (e) => e.status === 400 && /checksum/i.test(JSON.stringify(e.data)));
  assert.equal(await count(C), 101);
});

await step("a file:// location outside the snapshots directory is refused", async () => {
  await assert.rejects(client.recoverSnapshot(C, { location: "file:///etc/passwd" }), (e) => e.status === 403);
  await assert.rejects(client.recoverSnapshot(C, { location: `file://${snapshots}/../${C}.snapshot` }), (e) => e.status === 403);
  assert.equal(await count(C), 101);
});

await step("deleteSnapshot", async () => {
  assert.equal(await client.deleteSnapshot(C, snapshot.name), true);
  assert.deepEqual(await client.listSnapshots(C), []);
  await assert.rejects(client.deleteSnapshot(C, snapshot.name), (e) => e.status === 404);
});

await step("createSnapshot with wait=false answers 202 and the snapshot appears once written", async () => {
  // The client itself treats Qdrant's 202 as an error (it accepts 200 and 201 only), so this step uses fetch.
  const headers = apiKey ? { "api-key": apiKey } : {};
  const response = await fetch(`${url}/collections/${C}/snapshots?wait=false`, { method: "POST", headers });
  assert.equal(response.status, 202);
  assert.equal((await response.json()).status, "accepted");
  for (let attempt = 0; attempt < 100; attempt++) {
    if ((await client.listSnapshots(C)).length === 1) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail("the snapshot never appeared");
});

await step("full-storage snapshots: create, list, delete", async () => {
  const full = await client.createFullSnapshot();
  assert.ok(full.name.endsWith(".snapshot") && full.size > 0);
  assert.match(full.checksum, /^[0-9a-f]{64}$/);
  const list = await client.listFullSnapshots();
  assert.ok(list.some((s) => s.name === full.name));
  assert.equal(await client.deleteFullSnapshot(full.name), true);
  assert.ok(!(await client.listFullSnapshots()).some((s) => s.name === full.name));
});

await step("snapshots of a missing collection: 404", async () => {
  await assert.rejects(client.createSnapshot("js_snap_missing"), (e) => e.status === 404);
});

console.log("all steps passed");
