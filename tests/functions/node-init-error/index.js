// INIT fails: a module that does not exist (Runtime.ImportModuleError).
require("no-such-module-anywhere");
exports.handler = async () => "unreachable";
