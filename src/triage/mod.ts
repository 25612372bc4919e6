/**
 * Triage applied by the sensor: suppressions made in the console, read from
 * the store while detection runs, hold back matching alerts before any sink.
 */
export { gateSinks, SuppressionGate, type SuppressionGateOptions } from "./suppression_gate.ts";
