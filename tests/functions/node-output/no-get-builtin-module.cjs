// Preloaded with NODE_OPTIONS=--require: node as it was before 20.16 (no process.getBuiltinModule),
// so that the runtime's fallback (createRequire from node:module) is what loads its built-ins.
delete process.getBuiltinModule;
