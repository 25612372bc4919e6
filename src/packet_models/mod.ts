/**
 * Packet-level models: KitNET over AfterImage statistics (Kitsune) and the
 * local outlier factor over packet or sequence features, trained on benign
 * rows and scored in typed arrays without allocation per row.
 */
export {
  clusterFeatures,
  CorrelationStats,
  DEFAULT_KITNET_PARAMS,
  type KitNetEngine,
  kitNetFromJson,
  type KitNetJson,
  type KitNetModel,
  type KitNetParams,
  KitNetScorer,
  kitNetToJson,
  type TiedAutoencoder,
  trainKitNet,
} from "./kitnet.ts";
export {
  DEFAULT_LOF_PARAMS,
  fitLof,
  lofFromJson,
  type LofJson,
  type LofModel,
  type LofParams,
  type LofScaling,
  lofScores,
  lofToJson,
} from "./lof.ts";
