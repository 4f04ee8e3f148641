// The same work as tla-node, done in the handler: it runs at the function's own CPU share
// (128 MB = 0.07 vCPU) instead of INIT's boost.
import { work } from "./work.mjs";

const rounds = Number(process.env.TLA_ROUNDS || 230000);

export const handler = async (event) => {
  const t0 = process.hrtime.bigint();
  const result = await work(event.rounds ?? rounds);
  return { ...result, handlerWorkMs: Number(process.hrtime.bigint() - t0) / 1e6 };
};
