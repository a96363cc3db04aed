/**
 * Protocol-neutral values shared by every part of a node: tensors and their metadata, inference
 * requests and responses, the error vocabulary, and the clock that deadlines are measured with.
 * Nothing here knows whether a request came over REST or gRPC.
 */
package dev.levee.core;
