/**
 * The gateway: the v2 REST API in front of many nodes. It learns nodes from a list or from DNS,
 * checks their readiness, routes each request to a node that has the model ready and the least
 * load (power of two random choices on the load that nodes report), ejects nodes that fail, and
 * retries a failed attempt on another node while the request's deadline and the retry budget allow.
 * {@link dev.levee.gateway.LeveeGateway} wires the parts.
 */
package dev.levee.gateway;
