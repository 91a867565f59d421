/**
 * `npm run demo`: months of one ServiceNow instance in about a minute, on this machine, with no AWS
 * account (see scripts/demo/run-demo.ts). `--fast` runs the same events with bigger jumps.
 *
 *   npm run demo
 *   npx tsx scripts/demo.ts --fast
 */
import { wantsColor } from './demo/narrator';

// The SDK's notice about its future Node.js 22 floor is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { runDemo } = await import('./demo/run-demo');

const write = process.stdout.write.bind(process.stdout);
const color = wantsColor(process.stdout);
const paint = (text: string, code: number) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
const interrupt = new AbortController();
const onSignal = (signal: NodeJS.Signals) => {
  if (interrupt.signal.aborted) process.exit(130); // a second Ctrl-C: stop waiting for cleanup
  write(`\n${signal}: stopping and cleaning up (Ctrl-C again to quit at once)...\n`);
  interrupt.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

try {
  const result = await runDemo({
    fast: process.argv.includes('--fast'),
    write,
    color,
    signal: interrupt.signal,
  });
  write(
    `\n${paint('Demo finished', 1)}: ${result.simulatedDays} simulated days (${result.jumpedDays.toFixed(1)} of them jumped over) in ${(result.wallMs / 1000).toFixed(0)} s; emulator and simulator stopped.\n\n`,
  );
  write(`${paint('Deploy for real', 1)}:\n`);
  write('  1. Describe your instances in a config file (config/example.json shows every field).\n');
  write('  2. npx cdk deploy -c config=config/<yours>.json\n');
  write(
    '  3. For each instance: snow-token bootstrap <instance>   (asks for the password once; never stores it)\n',
  );
  write('  4. Point sync jobs at the access-token secret: docs/token-client.md\n');
  process.exitCode = 0;
} catch (error) {
  const message = interrupt.signal.aborted ? 'interrupted' : (error as Error).message;
  process.stderr.write(`\n${paint('Demo failed', 31)}: ${message}\n`);
  if (!interrupt.signal.aborted) {
    process.stderr.write(
      'Everything it started has been stopped. Run `npm ci` if dependencies are missing; `npm run setup:moto` installs the local AWS emulator on its own.\n',
    );
  }
  process.exitCode = interrupt.signal.aborted ? 130 : 1;
}
