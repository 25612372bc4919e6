/**
 * Capture worker module for ring and file capture: one per interface (or per
 * PACKET_FANOUT member); see capture_loops.ts.
 */
/// <reference lib="deno.worker" />
import { serveCaptureRequests } from "./capture_loops.ts";

serveCaptureRequests();
