// The handler both runtimes run in tests/integration/test_node.c (peer comparison).
// event.fail: throw; event.sleep: seconds to wait; event.bytes: return a string that long;
// otherwise echo with a per-environment count.
let count = 0;

export const handler = async (event, context) => {
  count += 1;
  console.log("invocation", count, JSON.stringify(event));
  if (event.fail) throw new TypeError(`handled failure: ${event.fail}`);
  if (event.sleep) await new Promise((resolve) => setTimeout(resolve, event.sleep * 1000));
  if (event.bytes) return "x".repeat(event.bytes);
  return {
    count,
    event,
    functionName: context.functionName,
    memoryLimitInMB: context.memoryLimitInMB,
    invokedFunctionArn: context.invokedFunctionArn,
    callbackWaitsForEmptyEventLoop: context.callbackWaitsForEmptyEventLoop,
    keys: Object.keys(context),
    // the functions' names, which console.log(context) shows
    functions: Object.entries(context).filter(([, v]) => typeof v === "function")
      .map(([k, v]) => `${k}:${v.name}`),
    identity: context.identity ?? null,
    trace: process.env._X_AMZN_TRACE_ID ?? null,
  };
};

// A callback handler whose timer keeps the event loop busy 150 ms after the callback.
export const callback = (event, context, cb) => {
  count += 1;
  setTimeout(() => console.info("timer done", count), 150);
  if (event.fail) return cb(new Error(`callback failure: ${event.fail}`));
  cb(null, { count, via: "callback" });
};

// A streaming handler (buffered by both clients: the engine has no streaming): ends its stream
// at once, a while after its promise settled (event.later), or never (event.unfinished).
export const streaming = awslambda.streamifyResponse(async (event, responseStream) => {
  count += 1;
  responseStream.setContentType("text/plain");
  responseStream.write(`streamed ${count} `);
  if (event.unfinished) return;
  if (event.later) setTimeout(() => responseStream.end("later"), 100);
  else responseStream.end("now");
});
