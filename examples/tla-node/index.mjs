// CPU-heavy top-level await: the work runs while the module loads, during INIT, with INIT's
// boosted CPU (2 vCPUs on Lambda whatever the memory size). The handler only returns the result.
// event.rounds (handler-node) / TLA_ROUNDS (here): SHA-256 hash-chain length, ~0.3 s at 1 vCPU.
import { work } from "./work.mjs";

const rounds = Number(process.env.TLA_ROUNDS || 230000);
const t0 = process.hrtime.bigint();
const result = await work(rounds);
const initWorkMs = Number(process.hrtime.bigint() - t0) / 1e6;

export const handler = async () => ({ ...result, initWorkMs });
