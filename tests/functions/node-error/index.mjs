// Errors from a handler: event.kind selects what goes wrong.
class CustomError extends Error {
  constructor(message) {
    super(message);
    this.name = "CustomError";
    this.code = "E_CUSTOM";
  }
}

export const handler = async (event) => {
  if (event.kind === "custom") throw new CustomError("custom failure");
  if (event.kind === "string") throw "a thrown string";
  if (event.kind === "uncaught") {
    setTimeout(() => { throw new Error("uncaught in a timer"); }, 10);
    return new Promise(() => {});
  }
  if (event.kind === "reject") {
    Promise.reject(new Error("nobody catches this"));
    return new Promise(() => {});
  }
  if (event.kind === "circular") {
    const o = {};
    o.self = o;
    return o;
  }
  if (event.kind === "ok") return "fine";
  throw new Error("Handler fails");
};
