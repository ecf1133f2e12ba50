// Entry point of the debug adapter process: DAP on stdin/stdout.
import { BluepillDebugSession } from './bluepillDebugSession';

// A bug in a request handler must not take the adapter down: a crashed adapter leaves the
// session's Delve to its supervisor (which detaches) but loses the user's session. Say it on
// stderr (VS Code shows it in the Debug Console) and keep serving.
process.on('unhandledRejection', (reason) => {
  process.stderr.write(`bluepill debug adapter: unhandled error: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}\n`);
});

BluepillDebugSession.run(BluepillDebugSession);
