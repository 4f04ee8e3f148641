// The Node.js no-op: what a cold start costs when the function itself costs nothing.
export const handler = async () => ({});
