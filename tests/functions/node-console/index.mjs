// console.* in an invocation, as Lambda's runtime writes it: straight to a descriptor, without
// building process.stdout (a net.Socket on the pipe, whose node:net and streams stack Lambda's
// runtime has loaded during INIT). Returns whether node:net is loaded. With event.bytes, first
// builds process.stderr (which makes the pipe shared with stdout non-blocking) and then logs a
// line longer than the pipe holds: all of it must reach the log.
export const handler = async (event) => {
  console.log("one\ntwo");
  console.error("an error", { a: 1 });
  if (event.bytes) {
    process.stderr.write("to stderr\n");
    console.log(`big ${"y".repeat(event.bytes)} end`);
  }
  return { net: process.moduleLoadList.includes("NativeModule net") };
};
