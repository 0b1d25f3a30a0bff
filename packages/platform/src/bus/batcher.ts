/**
 * Coalesces concurrent `publish` calls into one send. While a send is in flight, new calls
 * queue; when it completes, everything queued (up to the limits) goes in the next send. Under
 * load batches grow by themselves; an idle publisher sends at once (no linger unless asked).
 * Calls are sent in call order and one send is in flight at a time, so per-key order holds
 * even for calls that were not awaited. A call resolves when the send that carried it resolved,
 * and rejects with its error: nothing is half-acknowledged.
 */
import type { OutgoingMessage } from './types.ts';

export interface PendingPublish {
  readonly topic: string;
  readonly messages: readonly OutgoingMessage[];
  readonly bytes: number;
}

export interface BatcherOptions {
  /** Most messages per send (a single larger call is sent alone). */
  readonly maxMessages: number;
  /** Most payload bytes (keys + values + headers) per send (a single larger call is sent alone). */
  readonly maxBytes: number;
  /** Wait this long after the first queued call before sending, to fill batches. Default 0. */
  readonly lingerMs?: number;
}

interface Entry extends PendingPublish {
  resolve(): void;
  reject(error: unknown): void;
}

export const messageBytes = (message: OutgoingMessage): number => {
  let bytes = message.key.length + message.value.byteLength + 16;
  if (message.headers) for (const [k, v] of Object.entries(message.headers)) bytes += k.length + v.length + 4;
  return bytes;
};

export class PublishBatcher {
  readonly #send: (batch: readonly PendingPublish[]) => Promise<void>;
  readonly #options: BatcherOptions;
  #queue: Entry[] = [];
  #sending = false;
  #scheduled = false;
  #closed = false;
  #idle: (() => void)[] = [];

  constructor(send: (batch: readonly PendingPublish[]) => Promise<void>, options: BatcherOptions) {
    this.#send = send;
    this.#options = options;
  }

  publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('bus: publish after close'));
    if (messages.length === 0) return Promise.resolve();
    let bytes = 0;
    for (const m of messages) bytes += messageBytes(m);
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ topic, messages, bytes, resolve, reject });
      this.#schedule();
    });
  }

  /** Resolves when everything queued so far was sent (or failed). */
  flush(): Promise<void> {
    if (!this.#sending && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Refuses new calls and waits for queued ones. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  #schedule(): void {
    if (this.#sending || this.#scheduled) return;
    this.#scheduled = true;
    const linger = this.#options.lingerMs ?? 0;
    // setImmediate lets calls made in the same turn of the event loop join the batch.
    if (linger > 0) setTimeout(() => void this.#run(), linger);
    else setImmediate(() => void this.#run());
  }

  async #run(): Promise<void> {
    this.#scheduled = false;
    if (this.#sending) return;
    this.#sending = true;
    try {
      while (this.#queue.length > 0) {
        const batch: Entry[] = [];
        let count = 0;
        let bytes = 0;
        while (this.#queue.length > 0) {
          const next = this.#queue[0]!;
          if (
            batch.length > 0 &&
            (count + next.messages.length > this.#options.maxMessages ||
              bytes + next.bytes > this.#options.maxBytes)
          )
            break;
          batch.push(this.#queue.shift()!);
          count += next.messages.length;
          bytes += next.bytes;
        }
        try {
          await this.#send(batch);
          for (const entry of batch) entry.resolve();
        } catch (error) {
          for (const entry of batch) entry.reject(error);
        }
      }
    } finally {
      this.#sending = false;
      const idle = this.#idle;
      this.#idle = [];
      for (const resolve of idle) resolve();
    }
  }
}
