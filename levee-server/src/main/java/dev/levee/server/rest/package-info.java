/**
 * The KServe Open Inference Protocol v2 over HTTP: routing, JSON decoding straight into tensor
 * buffers, response encoding, the model repository extension's endpoints, and the mapping of
 * errors to HTTP statuses.
 */
package dev.levee.server.rest;
