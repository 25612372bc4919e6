/**
 * Per-minute traffic statistics (flows, packets, bytes, verdicts, alerts),
 * keyed by each flow's end time. A minute is handed out once the watermark
 * has passed it; late additions to a minute already handed out come out as a
 * second row for that minute, which the SQLite sink adds up.
 */
import type { FlowBatch } from "../features/mod.ts";
import { type Decisions, VERDICT_KNOWN, VERDICT_UNKNOWN } from "../inference/mod.ts";
import type { TrafficMinute } from "./sinks/sink.ts";

const MINUTE_MICROS = 60e6;

/** Counts traffic per minute. */
export class TrafficMinutes {
  #minutes = new Map<number, TrafficMinute>();
  #bytesColumns: number[];

  /** `bytesColumns`: feature columns whose sum is a flow's bytes (forward and backward totals). */
  constructor(bytesColumns: number[] = []) {
    this.#bytesColumns = bytesColumns.filter((c) => c >= 0);
  }

  #minute(micros: number): TrafficMinute {
    const key = Math.floor(micros / MINUTE_MICROS) * 60_000;
    let m = this.#minutes.get(key);
    if (!m) {
      m = {
        minuteMs: key,
        flows: 0,
        packets: 0,
        bytes: 0,
        benignFlows: 0,
        knownFlows: 0,
        unknownFlows: 0,
        alerts: 0,
      };
      this.#minutes.set(key, m);
    }
    return m;
  }

  /** Counts a scored batch. */
  addBatch(batch: FlowBatch, decisions: Decisions): void {
    let m: TrafficMinute | null = null;
    let mEnd = -1;
    for (let i = 0; i < batch.count; i++) {
      const t = batch.endMicros[i];
      // Consecutive flows usually share a minute: skip the map lookup then.
      if (m === null || t < m.minuteMs * 1000 || t >= mEnd) {
        m = this.#minute(t);
        mEnd = m.minuteMs * 1000 + MINUTE_MICROS;
      }
      m.flows++;
      m.packets += batch.fwdPackets[i] + batch.bwdPackets[i];
      for (const c of this.#bytesColumns) {
        const v = batch.features[i * batch.width + c];
        if (Number.isFinite(v) && v > 0) m.bytes += v;
      }
      const v = decisions.verdict[i];
      if (v === VERDICT_KNOWN) m.knownFlows++;
      else if (v === VERDICT_UNKNOWN) m.unknownFlows++;
      else m.benignFlows++;
    }
  }

  /** Counts an emitted alert line in the minute of its timestamp. */
  addAlert(timestampMicros: number): void {
    this.#minute(timestampMicros).alerts++;
  }

  /** Hands out (and forgets) every minute that ended at or before `watermarkMicros`. */
  takeClosed(watermarkMicros: number): TrafficMinute[] {
    const out: TrafficMinute[] = [];
    for (const [key, m] of this.#minutes) {
      if (key * 1000 + MINUTE_MICROS <= watermarkMicros) {
        out.push(m);
        this.#minutes.delete(key);
      }
    }
    return out.sort((a, b) => a.minuteMs - b.minuteMs);
  }

  /** Hands out every minute still open. */
  takeAll(): TrafficMinute[] {
    const out = [...this.#minutes.values()].sort((a, b) => a.minuteMs - b.minuteMs);
    this.#minutes.clear();
    return out;
  }
}
