/**
 * The gateway: the v2 REST and gRPC APIs in front of many nodes. It learns nodes from a list, from DNS
 * or from Kubernetes EndpointSlices, and checks their readiness. It routes each request to a node
 * that has the model ready and the least load, by power of two random choices on the load that
 * nodes report. It ejects nodes that fail, and retries a failed attempt on another node while the
 * request's deadline and the retry budget allow. {@link dev.levee.gateway.LeveeGateway} wires the
 * parts.
 */
package dev.levee.gateway;
