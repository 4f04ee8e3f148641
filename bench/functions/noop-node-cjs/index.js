// The Node.js no-op as a CommonJS module (most handlers are): see bench_node.c.
exports.handler = async () => ({});
