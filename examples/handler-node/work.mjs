// The shared CPU-bound work: a SHA-256 hash chain of `rounds` links, yielding to the event
// loop every 10000 links (as real async initialisation would), plus the chain's final digest.
import { createHash } from "node:crypto";

export async function work(rounds) {
  let digest = Buffer.from("powertune");
  for (let i = 0; i < rounds; i++) {
    digest = createHash("sha256").update(digest).digest();
    if (i % 10000 === 9999) await new Promise((resolve) => setImmediate(resolve));
  }
  return { rounds, digest: digest.toString("hex") };
}
