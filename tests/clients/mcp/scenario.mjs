// Drives a running Vectorizer server's MCP endpoint with the official TypeScript SDK client (@modelcontextprotocol/sdk)
// over streamable HTTP: list tools, create a text collection, add documents, search them, delete the collection.
// The SDK's client checks each tool result's structuredContent against the tool's outputSchema (ajv) by itself.
// Usage: node scenario.mjs http://127.0.0.1:PORT [API_KEY]
// With API_KEY the client sends it (`api-key` header) to a server with auth enabled, after checking that connecting
// without it is refused with 401. Exits 0 when every step passes; prints the failed step and exits 1 otherwise.
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const url = process.argv[2];
if (!url) {
  console.error("usage: node scenario.mjs <server url> [api key]");
  process.exit(2);
}

const apiKey = process.argv[3];
const endpoint = new URL("/mcp", url);
const COLLECTION = "js_mcp_docs";

function connect(key) {
  const transport = new StreamableHTTPClientTransport(endpoint, {
    requestInit: { headers: key ? { "api-key": key } : {} },
  });
  const client = new Client({ name: "vectorizer-mcp-js-scenario", version: "1.0.0" });
  return client.connect(transport).then(() => client);
}

async function step(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (error) {
    console.error(`FAIL ${name}: ${error?.stack ?? error}`);
    process.exit(1);
  }
}

function text(result) {
  return result.content.filter((c) => c.type === "text").map((c) => c.text).join("\n");
}

if (apiKey) {
  await step("without the key the server answers 401", async () => {
    await assert.rejects(connect(undefined), (e) => /401|Unauthorized|API key/i.test(String(e?.message ?? e)));
  });
}

const client = await connect(apiKey);

await step("list tools", async () => {
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  for (const expected of ["list_collections", "create_collection", "add_documents", "search_text", "search", "delete_collection", "server_status"]) {
    assert.ok(names.includes(expected), `missing tool ${expected} in ${names.join(", ")}`);
  }
  for (const tool of tools) {
    assert.equal(tool.inputSchema.type, "object", tool.name);
    assert.equal(tool.outputSchema?.type, "object", tool.name);
    assert.ok(tool.description.length > 20, tool.name);
  }
});

await step("create a text collection", async () => {
  const existing = await client.callTool({ name: "list_collections", arguments: {} });
  if (existing.structuredContent.collections.some((c) => c.name === COLLECTION)) {
    await client.callTool({ name: "delete_collection", arguments: { collection: COLLECTION, confirm: COLLECTION } });
  }
  const created = await client.callTool({
    name: "create_collection",
    arguments: { collection: COLLECTION, embedding: { dense: { provider: "hash", dimension: 64 }, sparse: { provider: "bm25" } } },
  });
  assert.ok(!created.isError, text(created));
  assert.deepEqual(created.structuredContent, { collection: COLLECTION, created: true });
});

await step("add documents", async () => {
  const added = await client.callTool({
    name: "add_documents",
    arguments: {
      collection: COLLECTION,
      documents: [
        { id: 1, text: "Snapshots are copied nightly to the backup host.", metadata: { source: "ops.md" } },
        { id: 2, text: "The cafeteria opens at noon and closes at three.", metadata: { source: "food.md" } },
        { id: 3, text: "Restore a snapshot by copying it back and restarting the server.", metadata: { source: "restore.md" } },
      ],
    },
  });
  assert.ok(!added.isError, text(added));
  assert.equal(added.structuredContent.documents, 3);
  assert.equal(added.structuredContent.status, "completed");
});

await step("search them", async () => {
  const found = await client.callTool({ name: "search_text", arguments: { collection: COLLECTION, query: "cafeteria noon", limit: 2 } });
  assert.ok(!found.isError, text(found));
  assert.equal(found.structuredContent.points[0].id, 2);
  assert.equal(found.structuredContent.points[0].payload.source, "food.md");
  const count = await client.callTool({ name: "count_points", arguments: { collection: COLLECTION } });
  assert.equal(count.structuredContent.count, 3);
});

await step("a bad argument is a tool error naming it", async () => {
  const bad = await client.callTool({ name: "search_text", arguments: { collection: COLLECTION, query: "x", limit: "ten" } });
  assert.equal(bad.isError, true);
  assert.match(text(bad), /limit/);
  const missing = await client.callTool({ name: "get_collection", arguments: { collection: "no_such_collection" } });
  assert.equal(missing.isError, true);
  assert.match(text(missing), /Not found/);
});

await step("delete the collection", async () => {
  const deleted = await client.callTool({ name: "delete_collection", arguments: { collection: COLLECTION, confirm: COLLECTION } });
  assert.ok(!deleted.isError, text(deleted));
  assert.equal(deleted.structuredContent.deleted, true);
  const after = await client.callTool({ name: "list_collections", arguments: {} });
  assert.ok(!after.structuredContent.collections.some((c) => c.name === COLLECTION));
});

await client.close();
console.log("all steps passed");
