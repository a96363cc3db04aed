/**
 * A node: the models it serves with the state of each version, their schedulers, the model
 * control that loads and unloads them, its metrics, and the Vert.x transport in front of them,
 * wired together in {@link dev.levee.server.LeveeNode}.
 */
package dev.levee.server;
