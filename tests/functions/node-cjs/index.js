// CommonJS handler: echoes the event, counts invocations in this environment.
let count = 0;
exports.handler = async (event) => {
  count += 1;
  console.log("cjs event", JSON.stringify(event));
  return { kind: "cjs", count, event };
};
