// INIT fails: this file does not parse (Runtime.UserCodeSyntaxError).
exports.handler = async () => {
  return { unbalanced: true ;
};
