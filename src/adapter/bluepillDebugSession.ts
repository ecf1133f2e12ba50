// The DAP session. Translates DAP requests into calls on the Delve client and the bluepill engine.
import { DebugSession, LoggingDebugSession } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';

export class BluepillDebugSession extends LoggingDebugSession {
  protected override initializeRequest(response: DebugProtocol.InitializeResponse): void {
    response.body = { supportsConfigurationDoneRequest: true };
    this.sendResponse(response);
  }
}

export { DebugSession };
