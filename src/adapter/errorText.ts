// The text a user reads for a failed call: Delve's own words for a Delve error (without our
// "Delve Eval:" method prefix), the message otherwise.
import { DelveError } from '../delve/delveErrors';

export function errorText(err: unknown): string {
  if (err instanceof DelveError) return err.delveMessage;
  return err instanceof Error ? err.message : String(err);
}
