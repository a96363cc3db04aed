/**
 * The open-loop load generator behind {@code levee loadtest}. Requests are sent on a schedule
 * fixed in advance (uniform or Poisson gaps at the offered rate), never waiting for earlier
 * responses, and each latency is measured from the request's intended send time, so a server
 * that stalls cannot hide its queueing (no coordinated omission).
 */
package dev.levee.loadtest;
