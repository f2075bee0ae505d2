// Drives a running Vectorizer server with the official Qdrant JavaScript client.
// Usage: node scenario.mjs http://127.0.0.1:PORT [API_KEY]
// With API_KEY the client sends it (the `apiKey` option) to a server with auth enabled, and the scenario first checks
// that the same client without a key, or with a wrong one, is refused with 401.
// Exits 0 when every step behaves as Qdrant would; prints the failed step and exits 1 otherwise.
import assert from "node:assert/strict";
import { QdrantClient } from "@qdrant/js-client-rest";

const url = process.argv[2];
if (!url) {
  console.error("usage: node scenario.mjs <server url>");
  process.exit(2);
}

// The version handshake: with the compatibility check on (the default), the client compares the server's
// `version` with its own and prints a warning through console.warn when they are not compatible.
const warnings = [];
const warn = console.warn;
console.warn = (...args) => warnings.push(args.join(" "));
const apiKey = process.argv[3];
const client = new QdrantClient({ url, apiKey, checkCompatibility: true });
const A = "js_docs_v1";
const B = "js_docs_v2";
const ALIAS = "js_docs";

function vec(i) {
  return [Math.sin(i), Math.cos(i), Math.sin(i * 0.5), Math.cos(i * 0.25)];
}

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

await step("version handshake prints no compatibility warning", async () => {
  const info = await client.versionInfo();
  // Let the constructor's own check (a promise started before ours) settle.
  await new Promise((resolve) => setTimeout(resolve, 200));
  console.warn = warn;
  // (With an API key over plain HTTP the client also warns about the connection: only version warnings count.)
  assert.deepEqual(warnings.filter((w) => /version/i.test(w)), []);
  assert.match(info.version, /^1\.19\.\d+$/);
  assert.ok(info.vectorizer_version, "our own version in a separate field");
  assert.ok("commit" in info);
});

if (apiKey) {
  await step("without the key the server answers 401", async () => {
    const anonymous = new QdrantClient({ url, checkCompatibility: false });
    await assert.rejects(anonymous.getCollections(), (e) => e.status === 401 && /API key/.test(JSON.stringify(e.data)));
    const wrong = new QdrantClient({ url, apiKey: apiKey + "x", checkCompatibility: false });
    await assert.rejects(wrong.getCollections(), (e) => e.status === 401);
    const { collections } = await client.getCollections();
    assert.ok(Array.isArray(collections));
  });
}

await step("create collections", async () => {
  for (const name of [A, B]) {
    if ((await client.collectionExists(name)).exists) await client.deleteCollection(name);
    assert.equal(await client.createCollection(name, { vectors: { size: 4, distance: "Cosine" } }), true);
  }
  const info = await client.getCollection(A);
  assert.equal(info.config.params.vectors.size, 4);
  assert.equal(info.config.params.vectors.distance, "Cosine");
  const { collections } = await client.getCollections();
  assert.ok(collections.some((c) => c.name === A) && collections.some((c) => c.name === B));
});

await step("upsert as a list of points", async () => {
  const points = [];
  for (let i = 0; i < 30; i++) {
    points.push({ id: i, vector: vec(i), payload: { group: i % 3 === 0 ? "fizz" : "plain", n: i, tags: ["t" + (i % 5)] } });
  }
  const result = await client.upsert(A, { wait: true, points });
  assert.equal(result.status, "completed");
});

await step("upsert in the columnar batch form", async () => {
  const ids = [], vectors = [], payloads = [];
  for (let i = 30; i < 50; i++) {
    ids.push(i);
    vectors.push(vec(i));
    payloads.push({ group: i % 3 === 0 ? "fizz" : "plain", n: i, tags: ["t" + (i % 5)] });
  }
  const result = await client.upsert(A, { wait: true, batch: { ids, vectors, payloads } });
  assert.equal(result.status, "completed");
  assert.equal((await client.count(A, { exact: true })).count, 50);
});

await step("query with a filter", async () => {
  const { points } = await client.query(A, {
    query: vec(7),
    limit: 5,
    with_payload: true,
    filter: { must: [{ key: "group", match: { value: "fizz" } }] },
  });
  assert.equal(points.length, 5);
  for (const p of points) assert.equal(p.payload.group, "fizz");
  for (let i = 1; i < points.length; i++) assert.ok(points[i - 1].score >= points[i].score, "scores descend");
  const byId = await client.query(A, { query: 9, limit: 3 });
  assert.equal(byId.points.length, 3);
  assert.ok(!byId.points.some((p) => p.id === 9), "query by id excludes the point itself");
});

await step("scroll with paging", async () => {
  const seen = [];
  let offset = undefined;
  let pages = 0;
  do {
    const page = await client.scroll(A, { limit: 7, offset, with_payload: false });
    for (const p of page.points) seen.push(p.id);
    offset = page.next_page_offset ?? undefined;
    pages++;
  } while (offset !== undefined && pages < 20);
  assert.equal(pages, 8);
  assert.deepEqual(seen, Array.from({ length: 50 }, (_, i) => i));
});

await step("count with a filter", async () => {
  const { count } = await client.count(A, { filter: { must: [{ key: "group", match: { value: "fizz" } }] }, exact: true });
  assert.equal(count, 17);
});

await step("set payload", async () => {
  await client.setPayload(A, { payload: { reviewed: true }, points: [1, 2, 3], wait: true });
  const records = await client.retrieve(A, { ids: [1, 2, 3, 4], with_payload: true });
  assert.equal(records.length, 4);
  for (const r of records) assert.equal(r.payload.reviewed, r.id === 4 ? undefined : true);
  assert.equal(records[0].payload.group, "plain", "set_payload keeps other keys");
});

await step("delete by filter", async () => {
  await client.delete(A, { wait: true, filter: { must: [{ key: "tags", match: { any: ["t0"] } }] } });
  assert.equal((await client.count(A, { exact: true })).count, 40);
  const { count } = await client.count(A, { filter: { must: [{ key: "tags", match: { value: "t0" } }] } });
  assert.equal(count, 0);
});

await step("alias switched atomically to a second collection", async () => {
  await client.upsert(B, { wait: true, points: [{ id: 1000, vector: vec(1000), payload: { version: 2 } }] });
  await client.updateCollectionAliases({ actions: [{ create_alias: { collection_name: A, alias_name: ALIAS } }] });
  assert.equal((await client.count(ALIAS, {})).count, 40);
  await client.updateCollectionAliases({
    actions: [
      { delete_alias: { alias_name: ALIAS } },
      { create_alias: { collection_name: B, alias_name: ALIAS } },
    ],
  });
  assert.equal((await client.count(ALIAS, {})).count, 1);
  const { aliases } = await client.getAliases();
  assert.deepEqual(aliases.filter((a) => a.alias_name === ALIAS), [{ alias_name: ALIAS, collection_name: B }]);
  const { points } = await client.query(ALIAS, { query: vec(1000), limit: 1, with_payload: true });
  assert.equal(points[0].id, 1000);
});

await step("hybrid collection: int8 quantization config, sparse vectors, payload index, prefetch + RRF", async () => {
  const H = "js_hybrid";
  await client.createCollection(H, {
    vectors: { dense: { size: 4, distance: "Cosine" } },
    sparse_vectors: { text: { modifier: "idf" } },
    quantization_config: { scalar: { type: "int8", quantile: 0.99, always_ram: true } },
  });
  await client.upsert(H, {
    wait: true,
    points: Array.from({ length: 30 }, (_, i) => ({
      id: i,
      vector: { dense: vec(i), text: { indices: [i % 5, 10 + (i % 3)], values: [1, 0.5] } },
      payload: { lang: i % 2 === 0 ? "en" : "de" },
    })),
  });
  const index = await client.createPayloadIndex(H, { field_name: "lang", field_schema: "keyword", wait: true });
  assert.equal(index.status, "completed");
  const info = await client.getCollection(H);
  assert.equal(info.payload_schema.lang.data_type, "keyword");
  assert.equal(info.payload_schema.lang.points, 30);
  assert.equal(info.config.quantization_config.scalar.type, "int8");

  const sparse = await client.query(H, { query: { indices: [2, 12], values: [1, 1] }, using: "text", limit: 3 });
  assert.equal(sparse.points[0].id, 2, "2 has both dimensions");

  const fused = await client.query(H, {
    prefetch: [
      { query: vec(4), using: "dense", limit: 20, params: { hnsw_ef: 64, quantization: { rescore: true, oversampling: 2.0 } } },
      { query: { indices: [4, 11], values: [1, 1] }, using: "text", limit: 10 },
    ],
    query: { fusion: "rrf" },
    filter: { must: [{ key: "lang", match: { value: "en" } }] },
    limit: 5,
    with_payload: true,
  });
  assert.equal(fused.points[0].id, 4, "4 leads both lists");
  assert.ok(fused.points.every((p) => p.payload.lang === "en"));
  await client.deletePayloadIndex(H, "lang", { wait: true });
  assert.equal(Object.keys((await client.getCollection(H)).payload_schema).length, 0);
  assert.equal(await client.deleteCollection(H), true);
});

await step("quantized search: int8 then binary, rescored, and ignored", async () => {
  const Q = "js_quantized";
  const v8 = (i) => [...vec(i), ...vec(i * 7 + 3)];
  await client.createCollection(Q, {
    vectors: { size: 8, distance: "Cosine", on_disk: true },
    hnsw_config: { full_scan_threshold: 1 },
    optimizers_config: { indexing_threshold: 1 },
    quantization_config: { scalar: { type: "int8", quantile: 0.99, always_ram: true } },
  });
  await client.upsert(Q, { wait: true, points: Array.from({ length: 600 }, (_, i) => ({ id: i, vector: v8(i) })) });
  const quantizedAs = async (kind) => {
    for (let attempt = 0; attempt < 200; attempt++) {
      const info = await client.getCollection(Q);
      if (info.status === "green" && info.storage?.vectors?.[""]?.quantization === kind) return info;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`never quantized as ${kind}`);
  };
  let info = await quantizedAs("scalar");
  assert.ok(info.storage.vectors[""].quantized_ram_bytes > 0);
  assert.equal(info.storage.vectors[""].original_ram_bytes, 0, "originals are on disk");
  for (const params of [{ quantization: { rescore: true, oversampling: 2.0 } }, { quantization: { ignore: true } }, { hnsw_ef: 32 }]) {
    const { points } = await client.query(Q, { query: v8(123), limit: 3, params });
    assert.equal(points[0].id, 123, JSON.stringify(params));
    assert.ok(Math.abs(points[0].score - 1) < 1e-4, "rescored with the originals");
  }
  await client.updateCollection(Q, { quantization_config: { binary: { always_ram: true } } });
  info = await quantizedAs("binary");
  const { points } = await client.query(Q, { query: v8(321), limit: 3, params: { quantization: { rescore: true, oversampling: 50 } } });
  assert.equal(points[0].id, 321);
  assert.equal(await client.deleteCollection(Q), true);
});

await step("groups, facets, search matrix, recommend and discover through the client", async () => {
  const G = "js_groups";
  await client.createCollection(G, { vectors: { size: 4, distance: "Dot" } });
  await client.upsert(G, {
    wait: true,
    points: Array.from({ length: 12 }, (_, i) => ({ id: i + 1, vector: vec(i + 1), payload: { color: ["red", "green", "blue"][i % 3], n: i } })),
  });
  await client.createPayloadIndex(G, { field_name: "color", field_schema: "keyword", wait: true });

  const { groups } = await client.queryGroups(G, { query: vec(1), group_by: "color", group_size: 2, limit: 3, with_payload: true });
  assert.equal(groups.length, 3);
  for (const group of groups) {
    assert.equal(group.hits.length, 2);
    for (const hit of group.hits) assert.equal(hit.payload.color, group.id);
  }

  const facet = await client.facet(G, { key: "color" });
  assert.deepEqual(facet.hits, [{ value: "blue", count: 4 }, { value: "green", count: 4 }, { value: "red", count: 4 }]);

  const pairs = await client.searchMatrixPairs(G, { sample: 5, limit: 2 });
  assert.equal(pairs.pairs.length, 10);
  const offsets = await client.searchMatrixOffsets(G, { sample: 5, limit: 2 });
  assert.equal(offsets.ids.length, 5);
  assert.equal(offsets.scores.length, 10);

  const recommended = await client.query(G, { query: { recommend: { positive: [1, 2], negative: [3], strategy: "best_score" } }, limit: 3 });
  assert.equal(recommended.points.length, 3);
  assert.ok(!recommended.points.some((p) => [1, 2, 3].includes(p.id)), "examples are excluded");
  const discovered = await client.query(G, { query: { discover: { target: 4, context: [{ positive: 5, negative: 6 }] } }, limit: 3 });
  assert.equal(discovered.points.length, 3);

  await client.createVectorName(G, "extra", { dense: { size: 2, distance: "Cosine" } });
  let info = await client.getCollection(G);
  assert.equal(info.config.params.vectors.extra.size, 2);
  await client.updateVectors(G, { wait: true, points: [{ id: 1, vector: { extra: [1, 0] } }] });
  const [one] = await client.retrieve(G, { ids: [1], with_vector: true });
  assert.deepEqual(one.vector.extra, [1, 0]);
  await client.deleteVectorName(G, "extra");
  info = await client.getCollection(G);
  assert.equal(info.config.params.vectors.extra, undefined);

  const optimizations = await client.getOptimizations(G, { with: "completed,queued,idle_segments" });
  assert.ok(Array.isArray(optimizations.running));
  assert.ok("queued_points" in optimizations.summary);
  const cluster = await client.collectionClusterInfo(G);
  assert.equal(cluster.shard_count, 1);
  assert.equal(cluster.local_shards[0].points_count, 12);
  assert.equal(await client.deleteCollection(G), true);
});

await step("errors come back as Qdrant errors", async () => {
  await assert.rejects(client.upsert(A, { wait: true, points: [{ id: 1, vector: [1, 2] }] }), (e) => e.status === 400);
  await assert.rejects(client.getCollection("js_missing_collection"), (e) => e.status === 404);
});

await step("delete collections", async () => {
  assert.equal(await client.deleteCollection(A), true);
  assert.equal(await client.deleteCollection(B), true);
  assert.equal((await client.collectionExists(A)).exists, false);
  const { aliases } = await client.getAliases();
  assert.equal(aliases.filter((a) => a.alias_name === ALIAS).length, 0, "aliases go with their collection");
});

console.log("all steps passed");
