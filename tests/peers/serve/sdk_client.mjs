// @aws-sdk/client-lambda (npm, v3) against `powertune serve --require-signature`.
// Usage: node sdk_client.mjs ENDPOINT SDK_DIR ZIP   (credentials from the environment)
// Prints TAP lines "ok N - ..." / "not ok N - ...".
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const [endpoint, sdkDir, zipPath] = process.argv.slice(2);
const require = createRequire(sdkDir + "/package.json");
const L = require("@aws-sdk/client-lambda");
const client = new L.LambdaClient({ endpoint, region: "us-east-1", maxAttempts: 1 });
let n = 0;
const check = (ok, what) => console.log(`${ok ? "ok" : "not ok"} ${++n} - sdk-js: ${what}`);
const send = (Cmd, input) => client.send(new Cmd(input));
async function expectError(p, name, what) {
  try {
    await p;
    check(false, `${what}: ${name} expected, got success`);
  } catch (e) {
    check(e.name === name && e.$metadata && e.$metadata.requestId, `${what} throws ${name}${e.name === name ? "" : ` (got ${e.name}: ${e.message})`}`);
    return e;
  }
}

const name = "noop-sdk-js";
try {
  await send(L.DeleteFunctionCommand, { FunctionName: name });
} catch (e) {
  if (e.name !== "ResourceNotFoundException") throw e;
}
try {
  const c = await send(L.CreateFunctionCommand, {
    FunctionName: name, Runtime: "provided.al2023", Handler: "bootstrap",
    Role: "arn:aws:iam::123456789012:role/r", Code: { ZipFile: readFileSync(zipPath) },
  });
  check(c.$metadata.httpStatusCode === 201 && c.State === "Pending", "CreateFunction 201, State Pending");
  const w = await L.waitUntilFunctionActiveV2({ client, maxWaitTime: 30, minDelay: 1 }, { FunctionName: name });
  check(w.state === "SUCCESS", "waitUntilFunctionActiveV2");
  const r = await send(L.InvokeCommand, { FunctionName: name, Payload: new TextEncoder().encode('{"a":1}'), LogType: "Tail" });
  check(r.StatusCode === 200 && r.ExecutedVersion === "$LATEST" && r.Payload.length > 0, "Invoke 200 with a payload");
  check(Buffer.from(r.LogResult, "base64").toString().includes("REPORT RequestId:"), "LogResult holds the REPORT line");
  const u = await send(L.UpdateFunctionConfigurationCommand, { FunctionName: name, MemorySize: 1024, Timeout: 5 });
  check(u.LastUpdateStatus === "InProgress", "UpdateFunctionConfiguration InProgress");
  const wu = await L.waitUntilFunctionUpdatedV2({ client, maxWaitTime: 30, minDelay: 1 }, { FunctionName: name });
  check(wu.state === "SUCCESS", "waitUntilFunctionUpdatedV2");
  const g = await send(L.GetFunctionCommand, { FunctionName: name });
  check(g.Configuration.MemorySize === 1024 && g.Configuration.LastUpdateStatus === "Successful", "GetFunction after the update");
  const v = await send(L.PublishVersionCommand, { FunctionName: name });
  check(v.Version === "1", "PublishVersion");
  const a = await send(L.CreateAliasCommand, { FunctionName: name, Name: "prod", FunctionVersion: "1" });
  check(a.AliasArn.endsWith(`:${name}:prod`), "CreateAlias");
  const ri = await send(L.InvokeCommand, { FunctionName: name, Qualifier: "prod" });
  check(ri.ExecutedVersion === "1", "Invoke through the alias runs version 1");
  const ua = await send(L.UpdateAliasCommand, { FunctionName: name, Name: "prod", Description: "d" });
  check(ua.Description === "d", "UpdateAlias");
  await send(L.DeleteAliasCommand, { FunctionName: name, Name: "prod" });
  await expectError(send(L.GetAliasCommand, { FunctionName: name, Name: "prod" }), "ResourceNotFoundException", "GetAlias after DeleteAlias");
  await send(L.PutFunctionConcurrencyCommand, { FunctionName: name, ReservedConcurrentExecutions: 0 });
  const t = await expectError(send(L.InvokeCommand, { FunctionName: name }), "TooManyRequestsException", "Invoke at reserved concurrency 0");
  check(t && t.Reason === "ReservedFunctionConcurrentInvocationLimitExceeded", "TooManyRequestsException.Reason");
  const d = await send(L.DeleteFunctionCommand, { FunctionName: name });
  check(d.$metadata.httpStatusCode === 204, "DeleteFunction 204");
  await expectError(send(L.GetFunctionCommand, { FunctionName: name }), "ResourceNotFoundException", "GetFunction after delete");
  const bad = new L.LambdaClient({ endpoint, region: "us-east-1", maxAttempts: 1, credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: "wrong" } });
  try {
    await bad.send(new L.ListFunctionsCommand({}));
    check(false, "a wrong secret is refused");
  } catch (e) {
    check(e.$metadata.httpStatusCode === 403 && e.name === "InvalidSignatureException", `a wrong secret: 403 InvalidSignatureException (${e.name})`);
  }
} catch (e) {
  check(false, `unexpected ${e.name}: ${e.message}`);
}
