/**
 * The producer's memory budget (Kafka's `buffer.memory`). Every record reserves its estimated
 * size when it is handed to `send()` and gives it back when its batch is acknowledged or fails.
 * When the budget is used up, `reserve` waits (back-pressure) in FIFO order; a waiter that is
 * not served within `maxBlockMs` fails with BufferExhaustedError.
 *
 * Invariants: 0 <= used <= capacity; waiters are served strictly in arrival order (a large
 * request is not starved by small ones behind it); a request larger than the whole capacity
 * fails at once instead of waiting forever.
 */
import { assert, MessageTooLargeError } from "@sluice/protocol";
import { BufferExhaustedError, ClientClosedError } from "./errors.js";
import type { Scheduler, TimerHandle } from "./runtime.js";

interface Waiter {
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  timer: TimerHandle | undefined;
}

export class BufferPool {
  private usedBytes = 0;
  private readonly waiters: Waiter[] = [];
  private closed = false;

  constructor(
    readonly capacityBytes: number,
    private readonly scheduler: Scheduler,
  ) {
    assert(Number.isSafeInteger(capacityBytes) && capacityBytes > 0, "buffer capacity must be a positive integer");
  }

  get used(): number {
    return this.usedBytes;
  }

  get available(): number {
    return this.capacityBytes - this.usedBytes;
  }

  /** Senders are blocked on memory: the producer should send what it has without lingering. */
  get hasWaiters(): boolean {
    return this.waiters.length > 0;
  }

  /** Takes `bytes` now if they fit and nobody is waiting ahead; true on success. */
  tryReserve(bytes: number): boolean {
    if (this.closed) throw new ClientClosedError("producer");
    if (bytes > this.capacityBytes) throw new MessageTooLargeError(bytes, this.capacityBytes);
    if (this.waiters.length > 0 || this.usedBytes + bytes > this.capacityBytes) return false;
    this.usedBytes += bytes;
    return true;
  }

  /** Takes `bytes`, waiting up to `maxBlockMs` for them to be released by completed batches. */
  reserve(bytes: number, maxBlockMs: number): Promise<void> {
    if (this.tryReserve(bytes)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { bytes, resolve, reject, timer: undefined };
      waiter.timer = this.scheduler.after(maxBlockMs, () => {
        const index = this.waiters.indexOf(waiter);
        if (index < 0) return;
        this.waiters.splice(index, 1);
        reject(new BufferExhaustedError(bytes, this.capacityBytes, maxBlockMs));
        // The head may have been this waiter: the next one might fit now.
        this.serve();
      });
      this.waiters.push(waiter);
    });
  }

  release(bytes: number): void {
    assert(bytes >= 0 && bytes <= this.usedBytes, `release of ${bytes} bytes with ${this.usedBytes} in use`);
    this.usedBytes -= bytes;
    this.serve();
  }

  /** Fails every waiter; later reservations throw ClientClosedError. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) {
      waiter.timer?.cancel();
      waiter.reject(new ClientClosedError("producer"));
    }
  }

  private serve(): void {
    while (this.waiters.length > 0) {
      const head = this.waiters[0]!;
      if (this.usedBytes + head.bytes > this.capacityBytes) return;
      this.waiters.shift();
      head.timer?.cancel();
      this.usedBytes += head.bytes;
      head.resolve();
    }
  }
}
