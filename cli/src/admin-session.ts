/** An Admin client for one command: opened with the CLI's retry policy, always closed after. */
import { Admin } from "@sluice/client";
import type { CommandContext } from "./context.js";
import { ADMIN_RETRY } from "./limits.js";

export async function withAdmin<T>(ctx: CommandContext, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin({ bootstrap: ctx.bootstrap, retry: ADMIN_RETRY });
  try {
    return await work(admin);
  } finally {
    await admin.close();
  }
}
