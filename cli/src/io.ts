/**
 * What commands see of the process: streams, environment, time, and a stop signal (Ctrl-C).
 * Tests pass their own; main.ts passes the real ones.
 */

export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whether stderr is a terminal (progress bars, summaries). */
  readonly stderrIsTTY: boolean;
  /** Aborted when the user asks to stop (SIGINT/SIGTERM). */
  readonly signal: AbortSignal;
  readonly cwd: string;
  now(): number;
}

/** Writes and waits for 'drain' when the stream's buffer is full (back-pressure). */
export function writeOut(stream: NodeJS.WritableStream, data: string | Uint8Array): Promise<void> {
  if (stream.write(data)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onDrain = (): void => {
      stream.off("error", onError);
      resolve();
    };
    const onError = (error: Error): void => {
      stream.off("drain", onDrain);
      reject(error);
    };
    stream.once("drain", onDrain);
    stream.once("error", onError);
  });
}
