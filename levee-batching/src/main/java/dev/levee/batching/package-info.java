/**
 * Admission and dynamic batching. Each model version has one {@link dev.levee.batching.BatchScheduler}:
 * a bounded queue that admits or rejects a request at once, and one worker thread per model
 * instance that groups queued requests into batches and splits the results back.
 */
package dev.levee.batching;
