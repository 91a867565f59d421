// The operator CLI's entry point: run the command line and exit with its code.
import { main } from '../cli/main';

// The SDK's notice about its future Node.js floor is not the operator's business.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Keep-alive HTTP agents would hold the process open for a few seconds; the work is done.
setImmediate(() => process.exit(code));
