// genmcp driven by the official MCP TypeScript SDK client (@modelcontextprotocol/sdk, the library most MCP hosts
// are built on) over streamable HTTP. Run by tests/clients/test_clients.py against `genmcp serve --sandbox`:
//
//   GENMCP_URL=http://127.0.0.1:8000/mcp node_modules/node/bin/node --test ts_client.test.mjs
//
// The server's sandbox jobs take GENMCP_SANDBOX__JOB_SECONDS = 12 s (Cosmiq's simulator half that): a call genmcp
// runs itself (Cosmiq, Univers) reports progress every 5 s, so each generation lasts long enough to send some. The
// generations run concurrently. Every result is parsed, and its structuredContent validated against the tool's
// outputSchema, by the SDK itself. This SDK speaks MCP 2025-11-25 (its tasks are that revision's, which genmcp does
// not serve): it follows a job as the resource job://<handle> with resources/subscribe instead, and uses the
// workflow prompts and completions.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CallToolResultSchema, ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

const URL_ENV = process.env.GENMCP_URL;
if (!URL_ENV) throw new Error("set GENMCP_URL to a genmcp MCP endpoint, e.g. http://127.0.0.1:8000/mcp");

const WAIT = 40; // seconds genmcp may hold a generation call (sandbox jobs finish in ~12 s)
const REQUEST_TIMEOUT_MS = 50_000;
const PROVIDER_TOOLS = [
  "cosmiq_create",
  "masko_create_project",
  "masko_create_mascot",
  "masko_generate",
  "kolbo_generate_image",
  "univers_ai_image",
  "conceptviz_generate",
];
const SHARED_TOOLS = ["poll", "jobs", "credits"];

let client;

/** Calls `name` and records every progress notification the call receives. */
async function call(name, args) {
  const progress = [];
  const result = await client.callTool({ name, arguments: args }, CallToolResultSchema, {
    onprogress: (p) => progress.push(p),
    timeout: REQUEST_TIMEOUT_MS,
  });
  return { result, progress, content: result.structuredContent };
}

function describeResult(result) {
  return JSON.stringify(result.structuredContent ?? result.content, null, 1).slice(0, 2000);
}

/** A completed generation: not an error, sandbox, at least one asset, the text summary alongside. */
function assertCompleted({ result, content }, provider) {
  assert.equal(result.isError ?? false, false, describeResult(result));
  assert.ok(content, `no structuredContent: ${describeResult(result)}`);
  assert.equal(content.provider, provider);
  assert.equal(content.status, "completed", describeResult(result));
  assert.equal(content.sandbox, true);
  assert.ok(Array.isArray(content.assets) && content.assets.length > 0, `no assets: ${describeResult(result)}`);
  for (const asset of content.assets) assert.match(asset.url, /^https?:\/\//);
  assert.ok(
    result.content.some((block) => block.type === "text" && block.text.length > 0),
    "no text summary in content",
  );
}

/** At least one progress notification arrived, with values that never go down. */
function assertProgress(progress, what) {
  assert.ok(progress.length > 0, `no progress notification received during ${what}`);
  const values = progress.map((p) => p.progress);
  assert.deepEqual(values, [...values].sort((a, b) => a - b), `progress went down during ${what}: ${values}`);
}

describe("genmcp through the MCP TypeScript SDK client", { concurrency: true }, () => {
  before(async () => {
    client = new Client({ name: "genmcp-ts-client-test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(URL_ENV)));
    // Listing first makes the SDK validate every later result's structuredContent (errors included) against the
    // tool's outputSchema, and reject a result that has an outputSchema but no structuredContent.
    await client.listTools();
  });

  after(async () => {
    await client?.close();
  });

  test("initialize: server info, instructions and the tools capability", () => {
    assert.equal(client.getServerVersion()?.name, "genmcp");
    assert.ok(client.getServerCapabilities()?.tools, "no tools capability");
    assert.match(client.getInstructions() ?? "", /poll/);
  });

  test("tools/list: every provider's tools with schemas and hints", async () => {
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((tool) => [tool.name, tool]));
    for (const name of [...PROVIDER_TOOLS, ...SHARED_TOOLS]) assert.ok(byName.has(name), `missing tool ${name}`);
    for (const tool of tools) {
      assert.ok(tool.description, `${tool.name}: no description`);
      assert.equal(tool.inputSchema.type, "object", `${tool.name}: input schema is not an object`);
    }
    const generate = byName.get("conceptviz_generate");
    assert.ok(generate.outputSchema, "conceptviz_generate has no output schema");
    assert.equal(generate.annotations?.readOnlyHint, false);
    assert.equal(byName.get("poll").annotations?.readOnlyHint, true);
  });

  test("cosmiq_create: one image, with progress", async () => {
    const call_ = await call("cosmiq_create", { prompt: "a lighthouse at dusk", wait: WAIT });
    assertCompleted(call_, "cosmiq");
    assertProgress(call_.progress, "cosmiq_create");
  });

  test("masko: project, mascot, then masko_generate type image, with progress", async () => {
    const project = await call("masko_create_project", { name: "TS client test" });
    assert.equal(project.result.isError ?? false, false, describeResult(project.result));
    const projectId = project.content.details.project_id;
    assert.ok(projectId, `no project_id: ${describeResult(project.result)}`);

    const mascot = await call("masko_create_mascot", {
      project_id: projectId,
      name: "Fox",
      prompt: "a friendly orange fox wearing a blue scarf",
      wait: WAIT,
    });
    assert.equal(mascot.result.isError ?? false, false, describeResult(mascot.result));
    assert.equal(mascot.content.status, "completed", describeResult(mascot.result));
    const mascotId = mascot.content.details.mascot_id;
    assert.ok(mascotId, `no mascot_id: ${describeResult(mascot.result)}`);

    const image = await call("masko_generate", {
      mascot_id: mascotId,
      type: "image",
      name: "Waving hello",
      image_prompt: "the fox waving hello",
      wait: WAIT,
    });
    assertCompleted(image, "masko");
    assertProgress(image.progress, "masko_generate");
  });

  test("kolbo_generate_image: one image, with progress", async () => {
    const call_ = await call("kolbo_generate_image", { prompt: "a red bicycle on a beach", wait: WAIT });
    assertCompleted(call_, "kolbo");
    assertProgress(call_.progress, "kolbo_generate_image");
  });

  test("univers_ai_image: one image, with progress", async () => {
    const call_ = await call("univers_ai_image", { prompt: "a cat reading a book", style: "cartoon", wait: WAIT });
    assertCompleted(call_, "univers");
    assertProgress(call_.progress, "univers_ai_image");
  });

  test("conceptviz_generate: one diagram, with progress", async () => {
    const call_ = await call("conceptviz_generate", { prompt: "water cycle diagram", wait: WAIT });
    assertCompleted(call_, "conceptviz");
    assertProgress(call_.progress, "conceptviz_generate");
  });

  test("a job that outlives its wait budget answers 'running', and poll finishes it", async () => {
    const started = await call("conceptviz_generate", { prompt: "photosynthesis diagram", wait: 1 });
    assert.equal(started.result.isError ?? false, false, describeResult(started.result));
    assert.equal(started.content.status, "running", describeResult(started.result));
    const handle = started.content.job;
    assert.match(handle, /^conceptviz:/);
    assert.ok(started.content.next?.includes(handle), `next does not name the handle: ${started.content.next}`);

    let polled;
    const progress = [];
    for (let attempt = 0; attempt < 3; attempt += 1) {
      polled = await call("poll", { job: handle, wait: WAIT });
      progress.push(...polled.progress);
      assert.equal(polled.result.isError ?? false, false, describeResult(polled.result));
      if (polled.content.status !== "running") break;
    }
    assertCompleted(polled, "conceptviz");
    assert.equal(polled.content.job, handle);
    assertProgress(progress, "poll");
  });

  test("a job is the resource job://<handle>: a subscription hears it finish", async () => {
    const started = await call("kolbo_generate_image", { prompt: "a red kite over dunes", wait: 0 });
    assert.equal(started.content.status, "running", describeResult(started.result));
    const uri = `job://${started.content.job}`;
    const templates = await client.listResourceTemplates();
    assert.ok(templates.resourceTemplates.some((t) => t.uriTemplate === "job://{handle}"));
    const updated = new Promise((resolve) => {
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
        if (notification.params.uri === uri) resolve(notification.params.uri);
      });
    });
    await client.subscribeResource({ uri });
    let current;
    do {
      assert.equal(await updated, uri);
      const read = await client.readResource({ uri });
      assert.equal(read.contents[0].mimeType, "application/json");
      current = JSON.parse(read.contents[0].text);
    } while (current.status === "running");
    assert.equal(current.status, "completed", JSON.stringify(current));
    assert.equal(current.job, started.content.job);
    await client.unsubscribeResource({ uri });
  });

  test("workflow prompts name the tools to use, and their arguments complete", async () => {
    const { prompts } = await client.listPrompts();
    const names = prompts.map((prompt) => prompt.name);
    for (const name of ["mascot_animated", "idea_to_diagram", "product_video_storyboard", "coloring_page"]) {
      assert.ok(names.includes(name), `missing prompt ${name}: ${names}`);
    }
    const prompt = await client.getPrompt({ name: "idea_to_diagram", arguments: { idea: "how DNS works" } });
    assert.match(prompt.messages[0].content.text, /conceptviz_generate\(/);
    const completed = await client.complete({
      ref: { type: "ref/prompt", name: "idea_to_diagram" },
      argument: { name: "aspect_ratio", value: "16" },
    });
    assert.deepEqual(completed.completion.values, ["16:9"]);
  });

  test("bad input is an isError result with a code, not a protocol error", async () => {
    const { result, content } = await call("conceptviz_generate", { prompt: "" });
    assert.equal(result.isError, true, describeResult(result));
    assert.equal(content.status, "failed");
    assert.equal(content.error.code, "invalid_input");
    assert.match(content.error.message, /prompt/);
    assert.ok(result.content.some((block) => block.type === "text" && /prompt/.test(block.text)));

    const unknown = await call("poll", { job: "conceptviz:no-such-job" });
    assert.equal(unknown.result.isError, true, describeResult(unknown.result));
    assert.ok(unknown.content.error.code, describeResult(unknown.result));
  });
});
