/**
 * Input checks shared by the assignors. The coordinator never builds bad input, but an assignor
 * is a public function, so a duplicate member id or a nonsense partition count gets a typed error
 * instead of a silently wrong assignment.
 */
import { SluiceError } from "@sluice/protocol";
import type { AssignorInput } from "./assignment.js";

export function validateAssignorInput(input: AssignorInput): void {
  const seen = new Set<string>();
  for (const m of input.members) {
    if (seen.has(m.memberId)) throw new SluiceError("INVALID_REQUEST", `assignor input names member ${m.memberId} twice`);
    seen.add(m.memberId);
  }
  for (const [topic, count] of input.topics) {
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new SluiceError("INVALID_REQUEST", `topic ${topic} has partition count ${count}`);
    }
  }
}
