// Callback handler. event.mode:
//   "wait"    callback(null, ...) then a 200 ms timer: the response waits for the empty event loop
//   "nowait"  the same with callbackWaitsForEmptyEventLoop = false: the response is sent at once
//   "error"   callback(new Error(...))
//   "string"  callback("plain string error")
//   "none"    never calls back and returns nothing: null once the event loop is empty
//   "done"    legacy context.succeed
//   "throw"   callback(null, ...) with callbackWaitsForEmptyEventLoop = false, then an exception
//             thrown in the next check phase, while the result is being posted
exports.handler = function (event, context, callback) {
  const t0 = Date.now();
  if (event.mode === "nowait") context.callbackWaitsForEmptyEventLoop = false;
  if (event.mode === "error") return callback(new Error("callback failed"));
  if (event.mode === "string") return callback("plain string error");
  if (event.mode === "done") return context.succeed({ via: "succeed" });
  if (event.mode === "throw") {
    context.callbackWaitsForEmptyEventLoop = false;
    callback(null, "posted before the exception");
    setImmediate(() => {
      throw new Error("thrown right after the callback");
    });
    return;
  }
  if (event.mode === "none") {
    setTimeout(() => console.log("timer ran"), 50);
    return;
  }
  setTimeout(() => console.log("timer after callback ran"), 200);
  callback(null, { mode: event.mode, waited: context.callbackWaitsForEmptyEventLoop,
    calledBackAfterMs: Date.now() - t0 });
};
