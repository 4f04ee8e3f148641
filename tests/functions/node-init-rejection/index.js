// A promise rejected at the module's top level and never handled: node reports it once INIT's
// code has run, about when the runtime's GET /next goes out, so the runtime posts its error
// while that request is in flight.
Promise.reject(new Error("nobody catches this"));

exports.handler = async () => "handled the event";
