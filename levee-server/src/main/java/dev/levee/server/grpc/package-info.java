/**
 * The KServe Open Inference Protocol v2 over gRPC ({@code inference.GRPCInferenceService}) on
 * Vert.x's gRPC server: decoding of typed and raw tensor contents into the protocol-neutral
 * request, response encoding, deadlines from {@code grpc-timeout}, the model repository
 * extension's methods, and the mapping of errors to gRPC status codes. The messages are generated from {@code src/main/proto/grpc_predict_v2.proto}.
 */
package dev.levee.server.grpc;
