/**
 * Deep model families in plain typed arrays, each exported to ONNX with the
 * scaling in the graph: the concatenated CNN classifier
 * ({@link trainCnnClassifier}) and the dense, convolutional and LSTM
 * autoencoders ({@link trainDenseAe}, {@link trainCnnAe}, {@link trainLstmAe}).
 */
export {
  CNN_PROBABILITIES,
  type CnnClassifier,
  type CnnClassifierParams,
  cnnClassifierToOnnx,
  DEFAULT_CNN_PARAMS,
  predictCnn,
  trainCnnClassifier,
} from "./cnn_classifier.ts";
export {
  AE_SCORE,
  type AeModel,
  type AeParams,
  DEFAULT_AE_PARAMS,
  trainCnnAe,
  trainDenseAe,
  trainLstmAe,
} from "./autoencoders.ts";
export { DEEP_INPUT_NAME, INPUT_CLIP, prepareRows } from "./input.ts";
