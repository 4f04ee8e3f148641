// ES module in a .js file ("type": "module" in package.json), nested handler path app.nested.run.
export const nested = {
  run: async (event) => ({ kind: "module-type", event }),
};
