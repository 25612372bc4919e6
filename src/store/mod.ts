/**
 * The SQLite store shared by the sensor (writes alerts, evidence, traffic,
 * status) and the console (queries, triage, suppressions, retention).
 */
export {
  ALERT_STATUSES,
  type AlertFilter,
  type AlertGroup,
  type AlertRow,
  type AlertStatus,
  AlertStore,
  type AlertToStore,
  filterClause,
  openStore,
  type OpenStoreOptions,
  type SensorStatusRow,
  type StoreStats,
  type Suppression,
  suppressionCovers,
  type TrafficRow,
} from "./alert_store.ts";
export {
  type Alert as StoredAlert,
  migrateStore,
  type TrafficMinute as StoredTrafficMinute,
} from "./schema.ts";
