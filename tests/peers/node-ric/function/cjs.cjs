// A CommonJS handler both runtimes run in tests/integration/test_node.c (peer comparison): what
// a function can see of the runtime's own main module (Lambda's is an ES module).
const path = require("node:path");

exports.handler = async (event) => ({
  event,
  requireMain: typeof require.main,
  mainModule: typeof process.mainModule,
  cached: Object.keys(require.cache).filter((k) => !k.includes("node_modules"))
    .map((k) => path.basename(k)),
});
