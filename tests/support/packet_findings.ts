/**
 * Meters a capture file with packet monitors on and keeps every finding
 * they make, in order, as detection takes them (after each batch and
 * expiry step, and at the end).
 */
import { readCaptureFile } from "../../src/capture/mod.ts";
import { FlowMeter, type FlowMeterOptions, type PacketFinding } from "../../src/features/mod.ts";

export async function findingsOf(
  path: string,
  options: FlowMeterOptions,
): Promise<{ findings: PacketFinding[]; meter: FlowMeter }> {
  const meter = new FlowMeter(options);
  const findings: PacketFinding[] = [];
  const take = () => findings.push(...meter.takeFindings());
  for await (const batch of readCaptureFile(path)) {
    meter.push(batch);
    meter.drain();
    take();
    while (meter.continueExpiry()) meter.drain(), take();
  }
  meter.flush();
  meter.drain();
  take();
  return { findings, meter };
}
