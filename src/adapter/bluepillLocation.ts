// Is a stopped thread somewhere "Step over bluepill" applies? In the bluepill function or at an
// instruction that faults the same way, in the signal handler, or in the trampoline.
import type { DelveClient } from '../delve/delveClient';
import type { ArchProfile } from '../bluepill/archProfile';
import type { CodeReader } from '../bluepill/codeReader';
import type { LocationKind } from '../protocol/bluepillMessages';

const HANDLER_FUNCTIONS = /(^|[./])(sighandler|bluepillHandler|bluepillGuestExit|bluepillArchExit)$/;
const BLUEPILL_FUNCTIONS = /(^|[./])bluepill$/;

export async function classifyLocation(delve: Pick<DelveClient, 'listThreads'>, code: CodeReader, arch: ArchProfile, threadId: number): Promise<LocationKind> {
  const thread = (await delve.listThreads()).find((t) => t.id === threadId);
  if (!thread) return 'other';
  const name = thread.function?.name ?? '';
  if (BLUEPILL_FUNCTIONS.test(name)) return 'bluepill';
  if (HANDLER_FUNCTIONS.test(name)) return 'handler';
  const insn = await code.instructionAt(thread.pc, arch.maxInstructionLength).catch(() => undefined);
  if (insn && arch.privilegedInstruction(insn.bytes)) return 'bluepill';
  // The trampoline: the thread sits on `mov $rt_sigreturn, nr` or on the syscall after it.
  for (const start of [thread.pc, thread.pc - arch.trampolineSyscallOffset]) {
    const bytes = await code.bytesAt(start, arch.trampolineBytes.length).catch(() => undefined);
    if (bytes && arch.isTrampoline(bytes)) return 'trampoline';
  }
  return 'other';
}
