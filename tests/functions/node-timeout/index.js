// Sleeps event.seconds (default 10): with a short function timeout, Lambda's Sandbox.Timedout.
exports.handler = async (event) => {
  await new Promise((resolve) => setTimeout(resolve, (event.seconds ?? 10) * 1000));
  return { slept: event.seconds ?? 10 };
};
