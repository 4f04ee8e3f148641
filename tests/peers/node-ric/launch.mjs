// What Lambda's /var/runtime/index.mjs does with the client: run(LAMBDA_TASK_ROOT, _HANDLER).
// (aws-lambda-ric's own bin/index.mjs would also print an "Executing ..." line first.)
const { run } = await import(process.argv[2]);
await run(process.env.LAMBDA_TASK_ROOT, process.env._HANDLER);
