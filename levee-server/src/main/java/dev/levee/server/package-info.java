/**
 * A node: the models it serves, their schedulers, its metrics, and the Vert.x transport in front
 * of them, wired together in {@link dev.levee.server.LeveeNode}.
 */
package dev.levee.server;
