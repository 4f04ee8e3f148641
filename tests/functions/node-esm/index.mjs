// ES module handler with top-level await: `initMs` is measured during INIT, before the first /next.
const t0 = Date.now();
const initValue = await new Promise((resolve) => setTimeout(() => resolve(42), 50));
const initMs = Date.now() - t0;
let count = 0;

export const handler = async (event, context) => {
  count += 1;
  console.info("esm", count);
  console.warn("a warning");
  console.error("an error line\nwith two lines");
  return { kind: "esm", count, initValue, initMs, remaining: context.getRemainingTimeInMillis() };
};
