package dev.levee.batching;

import static java.util.Objects.requireNonNull;

import dev.levee.core.Clock;
import dev.levee.core.ErrorKind;
import dev.levee.core.InferenceException;
import dev.levee.core.InferenceRequest;
import dev.levee.core.InferenceResponse;
import dev.levee.core.Tensor;
import dev.levee.runtime.LoadedModel;
import dev.levee.runtime.Model;
import dev.levee.runtime.RequestValidator;
import dev.levee.runtime.RowOutcome;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The queue and batching loop of one model version. {@link #submit} validates a request, consults the
 * {@link AdmissionPolicy} and either queues it or fails it at once. One worker thread per model
 * instance takes the oldest request, waits up to the max queue delay for compatible requests to
 * join it up to the preferred batch size, runs the batch and completes each request's future with its
 * own rows.
 *
 * <p>A request leaves the queue without running when its future completes first: cancelled
 * because the client went away, or failed with DEADLINE_EXCEEDED by the {@link DeadlineTimer} at
 * its deadline. A result that arrives after the deadline is discarded. No batch starts with a
 * request whose deadline has passed.
 *
 * <p>{@link #drain} retires a scheduler without failing admitted work: it stops admission and lets
 * the workers run every queued request before they stop. {@link #close} stops at once and fails
 * the queued requests.
 */
public final class BatchScheduler implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(BatchScheduler.class);

    /** Warm-up runs per calibrated batch size; the first run of a session is slow, so it is not measured. */
    private static final int WARMUP_RUNS = 3;

    private final LoadedModel loaded;
    private final Model model;
    private final String name;
    private final int maxBatchSize;
    /** Rows at which a forming batch stops taking requests; at most the max batch size. */
    private final int preferredBatchSize;
    private final long maxQueueDelayNanos;
    private final int maxQueueSize;
    private final long defaultTimeoutNanos;
    private final long targetQueueDelayNanos;
    private final Clock clock;
    private final AdmissionPolicy admission;
    private final SchedulerListener listener;
    private final DeadlineTimer deadlineTimer;
    private final List<Thread> workers = new ArrayList<>();
    /** Requests whose batch is running; a request counts until its model run returns. */
    private final AtomicInteger running = new AtomicInteger();
    private final InferenceStatistics statistics;

    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when a request is queued or the scheduler closes. */
    private final Condition changed = lock.newCondition();
    /** Guarded by {@link #lock}. Oldest request first; holds only requests whose future is pending. */
    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    /** Guarded by {@link #lock}. Sum of the rows of the queued requests. */
    private int queuedRows;
    /** Guarded by {@link #lock}. */
    private boolean closed;
    /** Guarded by {@link #lock}. Set by {@link #drain}, after which nothing is admitted but queued requests run. */
    private boolean draining;
    /** Guarded by {@link #lock}. */
    private final ServiceTimeEstimator serviceTime = new ServiceTimeEstimator();

    public BatchScheduler(LoadedModel loaded, Clock clock, AdmissionPolicy admission, SchedulerListener listener) {
        this(loaded, clock, admission, listener, DeadlineTimer.SYSTEM);
    }

    public BatchScheduler(LoadedModel loaded, Clock clock, AdmissionPolicy admission, SchedulerListener listener,
            DeadlineTimer deadlineTimer) {
        this.loaded = requireNonNull(loaded, "loaded");
        this.model = loaded.model();
        this.name = loaded.name();
        this.clock = requireNonNull(clock, "clock");
        this.admission = requireNonNull(admission, "admission");
        this.listener = requireNonNull(listener, "listener");
        this.deadlineTimer = requireNonNull(deadlineTimer, "deadlineTimer");
        this.maxBatchSize = model.batching() ? loaded.config().maxBatchSize() : 1;
        int preferred = loaded.config().preferredBatchSize();
        this.preferredBatchSize = preferred > 0 ? Math.min(preferred, maxBatchSize) : maxBatchSize;
        this.maxQueueDelayNanos = loaded.config().maxQueueDelay().toNanos();
        this.maxQueueSize = loaded.config().maxQueueSize();
        this.defaultTimeoutNanos = loaded.config().defaultTimeout().toNanos();
        this.targetQueueDelayNanos = loaded.config().targetQueueDelay().toNanos();
        this.statistics = new InferenceStatistics(Math.max(1, maxBatchSize), InstantSource.system());
        calibrate();
        for (int i = 0; i < loaded.config().instanceCount(); i++) {
            workers.add(Thread.ofPlatform()
                    .name("levee-" + name + "-v" + loaded.version() + "-instance-" + i)
                    .daemon()
                    .unstarted(this::workLoop));
        }
        workers.forEach(Thread::start);
    }

    public LoadedModel model() {
        return loaded;
    }

    /** Statistics of the requests and model runs of this model version since the scheduler started. */
    public InferenceStatistics statistics() {
        return statistics;
    }

    /** Rows at which a forming batch stops taking requests. */
    public int preferredBatchSize() {
        return preferredBatchSize;
    }

    /**
     * Runs warm-up batches of one row and of the max batch size, when the model can make its own
     * input, so admission has service time estimates before the first request arrives.
     */
    private void calibrate() {
        for (int rows : new int[] {1, preferredBatchSize}) {
            for (int run = 0; run < WARMUP_RUNS; run++) {
                long start = clock.nanoTime();
                boolean ran;
                try {
                    ran = model.warmup(rows);
                } catch (Exception e) {
                    log.warn("model {} failed its warm-up run of {} rows; admission estimates start empty",
                            name, rows, e);
                    return;
                }
                if (!ran) {
                    return;
                }
                if (run > 0) {
                    serviceTime.record(rows, clock.nanoTime() - start);
                }
            }
        }
        log.debug("model {} calibrated: {} ns for 1 row, {} ns for {} rows", name, serviceTime.batchNanos(1),
                serviceTime.batchNanos(preferredBatchSize), preferredBatchSize);
    }

    /**
     * Validates, admits and queues a request. The returned future completes with the response, or
     * exceptionally with an {@link InferenceException}; cancelling it removes a queued request.
     */
    public CompletableFuture<InferenceResponse> submit(InferenceRequest request) {
        return submitIfOpen(request).orElseGet(() -> CompletableFuture.failedFuture(unloadingError()));
    }

    /**
     * Like {@link #submit}, but returns empty, having done nothing, when the scheduler is draining
     * or closed, so that the caller can send the request to another version of the model instead.
     */
    public Optional<CompletableFuture<InferenceResponse>> submitIfOpen(InferenceRequest request) {
        long submitted = clock.nanoTime();
        CompletableFuture<InferenceResponse> future = new CompletableFuture<>();
        try {
            RequestValidator.validate(request, model, maxBatchSize);
        } catch (InferenceException e) {
            future.completeExceptionally(e);
            statistics.failed(clock.nanoTime() - submitted);
            return Optional.of(future);
        }
        if (model.batching() && request.rows() == 0) {
            answerWithoutRows(request, future);
            countEarlyAnswer(future, submitted);
            return Optional.of(future);
        }
        long now = clock.nanoTime();
        if (!request.hasDeadline() && defaultTimeoutNanos > 0) {
            request = request.withDeadline(now + defaultTimeoutNanos);
        }
        if (request.hasDeadline() && request.deadlineNanos() <= now) {
            listener.expired(name);
            future.completeExceptionally(expiredError());
            statistics.failed(clock.nanoTime() - submitted);
            return Optional.of(future);
        }
        // A model that does not batch runs each request alone, whatever its first dimension. Counting
        // that dimension as rows could exceed the batch size of 1, and no batch would ever take it.
        int rows = model.batching() ? request.rows() : 1;
        Pending pending = new Pending(request, future, submitted, now, model.batchKey(request), rows);
        lock.lock();
        try {
            if (closed || draining) {
                return Optional.empty();
            }
            Optional<AdmissionPolicy.Rejection> rejection =
                    admission.reject(request, queueState(pending.rows), now);
            if (rejection.isPresent()) {
                listener.rejected(name, rejection.get().reason());
                future.completeExceptionally(rejection.get().error());
                statistics.failed(clock.nanoTime() - submitted);
                return Optional.of(future);
            }
            queue.addLast(pending);
            queuedRows += pending.rows;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        future.whenComplete((response, error) -> {
            leaveQueueIfWaiting(pending);
            // A success is counted where the model run completes the future, with its queue delay and run time.
            if (error != null) {
                statistics.failed(clock.nanoTime() - submitted);
            }
        });
        if (request.hasDeadline()) {
            deadlineTimer.schedule(request.deadlineNanos() - now, () -> expire(pending));
        }
        return Optional.of(future);
    }

    /**
     * Answers a request of zero rows with empty outputs and no model run, since a run would only
     * spend time. A model that cannot tell its output shapes without a run gets INVALID_ARGUMENT.
     */
    private void answerWithoutRows(InferenceRequest request, CompletableFuture<InferenceResponse> future) {
        Optional<List<Tensor>> outputs = model.emptyOutputs(request);
        if (outputs.isEmpty()) {
            future.completeExceptionally(InferenceException.invalid("request has 0 rows, but the output shapes of"
                    + " model '" + name + "' are unknown without a run (expected: at least 1 row)"));
            return;
        }
        future.complete(respond(request, new RowOutcome.Success(outputs.get())));
    }

    /** Counts a request completed at submission, before it could join the queue. */
    private void countEarlyAnswer(CompletableFuture<InferenceResponse> future, long submitted) {
        long nanos = clock.nanoTime() - submitted;
        if (future.isCompletedExceptionally()) {
            statistics.failed(nanos);
        } else {
            statistics.succeeded(nanos);
        }
    }

    /** Requests waiting in the queue. */
    public int queueDepth() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    /** Requests whose batch is running now. */
    public int inFlight() {
        return running.get();
    }

    /** Guarded by {@link #lock}. The queue as a request of {@code rows} rows finds it on arrival. */
    private QueueState queueState(int rows) {
        long drainNanos = serviceTime.drainNanos(queuedRows, preferredBatchSize, workers.size());
        long ownBatchNanos = serviceTime.batchNanos(
                Math.max(rows, Math.min(preferredBatchSize, queuedRows % preferredBatchSize + rows)));
        return new QueueState(queue.size(), maxQueueSize, drainNanos, ownBatchNanos, targetQueueDelayNanos);
    }

    /** Takes a request whose future completed while queued (cancelled or expired) out of the queue. */
    private void leaveQueueIfWaiting(Pending pending) {
        lock.lock();
        try {
            removeFinished(pending);
        } finally {
            lock.unlock();
        }
    }

    /** Guarded by {@link #lock}. Forgets a finished request that is still queued; counts a cancellation. */
    private void removeFinished(Pending pending) {
        if (pending.dequeued) {
            return;
        }
        pending.dequeued = true;
        queue.remove(pending);
        queuedRows -= pending.rows;
        if (pending.future.isCancelled()) {
            listener.cancelled(name);
        }
    }

    private void workLoop() {
        while (true) {
            List<Pending> batch;
            try {
                batch = nextBatch();
            } catch (InterruptedException e) {
                return;
            }
            if (batch.isEmpty()) {
                return;
            }
            runBatch(batch);
        }
    }

    /**
     * Blocks until a batch is ready; returns an empty list once the scheduler is closed, or once it
     * is draining and the queue is empty.
     */
    private List<Pending> nextBatch() throws InterruptedException {
        lock.lock();
        try {
            while (true) {
                if (closed) {
                    return List.of();
                }
                long now = clock.nanoTime();
                dropFinishedHead(now);
                Pending head = queue.peekFirst();
                if (head == null) {
                    if (draining) {
                        return List.of();
                    }
                    changed.await();
                    continue;
                }
                // No request joins a draining queue, so waiting for more would only delay the batch.
                long waitNanos = draining ? 0 : head.enqueuedNanos + maxQueueDelayNanos - now;
                if (waitNanos <= 0 || compatibleRows(head) >= preferredBatchSize) {
                    List<Pending> batch = takeBatch(head, now);
                    if (batch.isEmpty()) {
                        // An empty list means "closed" to the worker; look at the queue again instead.
                        continue;
                    }
                    running.addAndGet(batch.size());
                    return batch;
                }
                changed.awaitNanos(waitNanos);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Guarded by {@link #lock}. Removes queue heads that must not run: answered, or past their deadline. */
    private void dropFinishedHead(long now) {
        Pending head;
        while ((head = queue.peekFirst()) != null) {
            if (head.future.isDone()) {
                removeFinished(head);
            } else if (head.request.deadlineNanos() <= now) {
                // Out of the queue first: completing the future runs its callbacks on this thread.
                removeFinished(head);
                expire(head);
            } else {
                return;
            }
        }
    }

    /** Guarded by {@link #lock}. */
    private int compatibleRows(Pending head) {
        int rows = 0;
        for (Pending pending : queue) {
            if (pending.key.equals(head.key) && !pending.future.isDone()) {
                rows += pending.rows;
                if (rows >= preferredBatchSize) {
                    break;
                }
            }
        }
        return rows;
    }

    /** Guarded by {@link #lock}. */
    private List<Pending> takeBatch(Pending head, long now) {
        List<Pending> batch = new ArrayList<>();
        int rows = 0;
        Iterator<Pending> it = queue.iterator();
        while (it.hasNext()) {
            Pending pending = it.next();
            if (!pending.key.equals(head.key)) {
                continue;
            }
            boolean finished = pending.future.isDone();
            boolean expired = !finished && pending.request.deadlineNanos() <= now;
            // A request larger than the preferred size still runs, alone: the head always fits.
            if (!finished && !expired && rows > 0 && rows + pending.rows > preferredBatchSize) {
                break;
            }
            // Out of the queue before any future completes: completion callbacks run on this
            // thread and must find the request already gone, not touch the queue being iterated.
            it.remove();
            pending.dequeued = true;
            queuedRows -= pending.rows;
            if (expired) {
                expire(pending);
                continue;
            }
            if (finished) {
                if (pending.future.isCancelled()) {
                    listener.cancelled(name);
                }
                continue;
            }
            rows += pending.rows;
            batch.add(pending);
        }
        return batch;
    }

    /** Fails a request with DEADLINE_EXCEEDED unless its future is already complete. */
    private void expire(Pending pending) {
        if (pending.future.completeExceptionally(expiredError())) {
            listener.expired(name);
        }
    }

    private InferenceException expiredError() {
        return InferenceException.of(ErrorKind.DEADLINE_EXCEEDED,
                "request to model '" + name + "' passed its deadline before its result was ready");
    }

    private InferenceException unloadingError() {
        return InferenceException.retryLater(ErrorKind.UNAVAILABLE, "model '" + name + "' is unloading", 1);
    }

    private void runBatch(List<Pending> batch) {
        long start = clock.nanoTime();
        batch = dropExpiredBeforeStart(batch, start);
        if (batch.isEmpty()) {
            return;
        }
        List<InferenceRequest> requests = new ArrayList<>(batch.size());
        int rows = 0;
        for (Pending pending : batch) {
            requests.add(pending.request);
            rows += pending.rows;
            listener.queueDelay(name, start - pending.enqueuedNanos);
        }
        List<RowOutcome> outcomes;
        try {
            outcomes = model.run(requests);
            if (outcomes.size() != batch.size()) {
                throw new IllegalStateException("model returned " + outcomes.size() + " outcomes for a batch of "
                        + batch.size());
            }
        } catch (Exception | LinkageError e) {
            log.warn("[{}] model {} failed to run a batch of {} requests", requestIds(batch), name, batch.size(), e);
            InferenceException failure = InferenceException.internal(
                    "model '" + name + "' failed to run the batch holding this request", null);
            finishBatch(batch, rows, start);
            batch.forEach(p -> p.future.completeExceptionally(failure));
            return;
        }
        long serviceNanos = finishBatch(batch, rows, start);
        statistics.executed(rows, serviceNanos);
        for (int i = 0; i < batch.size(); i++) {
            Pending pending = batch.get(i);
            // complete() does nothing when the deadline timer answered first: the late result is dropped.
            switch (outcomes.get(i)) {
                case RowOutcome.Success success -> {
                    if (pending.future.complete(respond(pending.request, success))) {
                        statistics.ran(start - pending.enqueuedNanos, serviceNanos);
                        statistics.succeeded(clock.nanoTime() - pending.submittedNanos);
                    }
                }
                case RowOutcome.Failure failure -> pending.future.completeExceptionally(failure.error());
            }
        }
    }

    /**
     * Answers 504 for requests whose deadline passed between forming the batch and starting it,
     * which a pause of this thread can stretch, and returns the rest.
     */
    private List<Pending> dropExpiredBeforeStart(List<Pending> batch, long start) {
        List<Pending> live = batch;
        for (Pending pending : batch) {
            if (pending.request.deadlineNanos() <= start) {
                if (live == batch) {
                    live = new ArrayList<>(batch);
                }
                live.remove(pending);
                expire(pending);
                running.decrementAndGet();
            }
        }
        return live;
    }

    /**
     * Records a finished run and returns its service time. Its requests stop counting as in flight
     * only now that the model returned.
     */
    private long finishBatch(List<Pending> batch, int rows, long start) {
        long serviceNanos = clock.nanoTime() - start;
        running.addAndGet(-batch.size());
        lock.lock();
        try {
            serviceTime.record(rows, serviceNanos);
        } finally {
            lock.unlock();
        }
        listener.batchCompleted(name, batch.size(), rows, serviceNanos);
        return serviceNanos;
    }

    private InferenceResponse respond(InferenceRequest request, RowOutcome.Success success) {
        List<Tensor> outputs = success.outputs();
        if (!request.outputs().isEmpty()) {
            outputs = outputs.stream().filter(t -> request.outputs().contains(t.name())).toList();
        }
        return new InferenceResponse(request.id(), name, loaded.version(), outputs, request.parameters());
    }

    private static String requestIds(List<Pending> batch) {
        StringBuilder ids = new StringBuilder();
        for (Pending pending : batch) {
            if (!ids.isEmpty()) {
                ids.append(',');
            }
            ids.append(pending.request.id().isEmpty() ? "-" : pending.request.id());
        }
        return ids.toString();
    }

    /**
     * Stops admitting requests, lets the workers run every queued request, and waits at most
     * {@code timeout} for them to finish and stop. Requests still queued when the timeout passes
     * fail with UNAVAILABLE, as in {@link #close(long, TimeUnit)}. Returns whether every queued
     * request ran before the timeout. A request submitted from now on gets UNAVAILABLE, or an
     * empty result from {@link #submitIfOpen}.
     */
    public boolean drain(long timeout, TimeUnit unit) {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        lock.lock();
        try {
            draining = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        boolean drained = joinWorkers(deadline);
        close(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        return drained;
    }

    /**
     * Stops the workers after their current batch and fails every queued request with
     * UNAVAILABLE. Waits at most {@code timeout} for running batches to finish.
     */
    public void close(long timeout, TimeUnit unit) {
        List<Pending> abandoned;
        lock.lock();
        try {
            closed = true;
            abandoned = new ArrayList<>(queue);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        InferenceException unavailable = unloadingError();
        abandoned.forEach(p -> p.future.completeExceptionally(unavailable));
        joinWorkers(System.nanoTime() + unit.toNanos(timeout));
    }

    /** Waits until every worker has stopped or {@code deadline} passes; returns whether they all stopped. */
    private boolean joinWorkers(long deadline) {
        for (Thread worker : workers) {
            try {
                worker.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return workers.stream().noneMatch(Thread::isAlive);
    }

    @Override
    public void close() {
        close(30, TimeUnit.SECONDS);
    }

    /** A queued request. Identity matters: the queue removes exactly this entry. */
    private static final class Pending {
        final InferenceRequest request;
        final CompletableFuture<InferenceResponse> future;
        /** When the scheduler took the request, before validation. Its statistics duration starts here. */
        final long submittedNanos;
        final long enqueuedNanos;
        final String key;
        final int rows;
        /** Guarded by the scheduler's lock. True once the request has left the queue. */
        boolean dequeued;

        Pending(InferenceRequest request, CompletableFuture<InferenceResponse> future, long submittedNanos,
                long enqueuedNanos, String key, int rows) {
            this.request = request;
            this.future = future;
            this.submittedNanos = submittedNanos;
            this.enqueuedNanos = enqueuedNanos;
            this.key = key;
            this.rows = rows;
        }
    }
}
