/**
 * The group coordinator's operating error: a SluiceError (stable Kafka code, `retriable`) that
 * also says which group and member it concerns, for logs and RPC error details.
 */
import { SluiceError, type ErrorName } from "@sluice/protocol";

export class GroupError extends SluiceError {
  readonly groupId: string;
  readonly memberId: string | undefined;
  constructor(errorName: ErrorName, groupId: string, detail: string, memberId?: string) {
    super(errorName, `group "${groupId}"${memberId === undefined ? "" : ` member "${memberId}"`}: ${detail}`);
    this.name = "GroupError";
    this.groupId = groupId;
    this.memberId = memberId;
  }
}
