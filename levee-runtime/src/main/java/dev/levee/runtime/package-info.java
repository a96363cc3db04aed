/**
 * Model execution: the {@link dev.levee.runtime.Model} contract that the batching scheduler calls,
 * its ONNX Runtime, text-embedding and synthetic implementations, request validation against a
 * model's metadata, and the model repository that configures and loads them.
 */
package dev.levee.runtime;
