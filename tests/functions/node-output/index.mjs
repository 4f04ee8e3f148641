// Output written straight to process.stdout / process.stderr (no console), more than a pipe holds
// (event.bytes): all of it must be in the log before the response. Also returns what the runtime
// leaves of the streams' properties, and whether the runtime found process.getBuiltinModule.
export const handler = async (event) => {
  process.stdout.write(`big ${"x".repeat(event.bytes ?? 0)} end\n`);
  process.stderr.write("to stderr\n");
  const d = Object.getOwnPropertyDescriptor(process, "stdout");
  return {
    stdout: [typeof d.get, d.configurable, d.enumerable, d.get.name],
    getBuiltinModule: typeof process.getBuiltinModule,
  };
};
