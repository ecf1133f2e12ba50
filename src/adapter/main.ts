// Entry point of the debug adapter process: DAP on stdin/stdout.
import { BluepillDebugSession } from './bluepillDebugSession';

BluepillDebugSession.run(BluepillDebugSession);
