/**
 * The cold-load part of `npm run bench` alone (about a minute): each function's bundle and its cold
 * module load under Node.js 24 against its SDK-only bundle. Goal: at most 1.5x.
 *
 *   npx tsx scripts/bench-bundles.ts [samples]
 */
export {};

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { measureBundles } = await import('./bench/bundles');
const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
for (const b of await measureBundles(Number(process.argv[2] ?? 9))) {
  process.stdout.write(
    `${b.fn}: ${kib(b.bytes)} (SDK only ${kib(b.sdkOnlyBytes)}); load ${b.loadMs.toFixed(0)} ms vs ${b.sdkOnlyLoadMs.toFixed(0)} ms = ${b.ratio.toFixed(2)}x ${b.ratio <= 1.5 ? 'met' : 'missed'}\n`,
  );
}
