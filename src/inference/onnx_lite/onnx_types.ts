/** ONNX TensorProto element type codes the interpreter knows (onnx.proto's DataType). */
export const DATA_TYPE = { FLOAT: 1, INT64: 7, BOOL: 9 } as const;
