/**
 * Findings a packet monitor (ARP, neighbour discovery, IP anomalies) made
 * and the alert path has not taken yet: at most MAX_PENDING_FINDINGS wait,
 * more are counted in the monitor's `findingsDropped`, every one in its
 * `findings`. Findings are rare by construction (once per episode or claim).
 */
export const MAX_PENDING_FINDINGS = 256;

export class FindingQueue<T> {
  #pending: T[] = [];

  constructor(private readonly counters: { findings: number; findingsDropped: number }) {}

  push(finding: T): void {
    this.counters.findings++;
    if (this.#pending.length >= MAX_PENDING_FINDINGS) this.counters.findingsDropped++;
    else this.#pending.push(finding);
  }

  /** The findings since the last call (a shared empty list when none: never change it). */
  take(): T[] {
    if (this.#pending.length === 0) return NONE;
    const out = this.#pending;
    this.#pending = [];
    return out;
  }
}

const NONE: never[] = [];
