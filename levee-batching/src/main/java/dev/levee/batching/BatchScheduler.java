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
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The queue and batching loop of one model version. {@link #submit} validates a request, asks the
 * {@link AdmissionPolicy} and either queues it or fails it at once. One worker thread per model
 * instance takes the oldest request, waits up to the max queue delay for compatible requests to
 * join it up to the max batch size, runs the batch and completes each request's future with its
 * own rows.
 *
 * <p>A request whose future is already done when its batch is formed (cancelled because the client
 * went away, or failed by a deadline) is dropped without running; one whose deadline has passed
 * gets DEADLINE_EXCEEDED and does not run.
 */
public final class BatchScheduler implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(BatchScheduler.class);

    /** Weight of the newest batch in the service time average. */
    private static final double SERVICE_TIME_WEIGHT = 0.2;

    private final LoadedModel loaded;
    private final Model model;
    private final String name;
    private final int maxBatchSize;
    private final long maxQueueDelayNanos;
    private final int maxQueueSize;
    private final Clock clock;
    private final AdmissionPolicy admission;
    private final SchedulerListener listener;
    private final List<Thread> workers = new ArrayList<>();

    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when a request is queued or the scheduler closes. */
    private final Condition changed = lock.newCondition();
    /** Guarded by {@link #lock}. Oldest request first. */
    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    /** Guarded by {@link #lock}. */
    private boolean closed;
    /** Guarded by {@link #lock}. Moving average of one batch's service time; 0 until the first batch. */
    private double averageServiceNanos;
    /** Guarded by {@link #lock}. Moving average of requests per batch. */
    private double averageBatchRequests = 1;

    public BatchScheduler(LoadedModel loaded, Clock clock, AdmissionPolicy admission, SchedulerListener listener) {
        this.loaded = requireNonNull(loaded, "loaded");
        this.model = loaded.model();
        this.name = loaded.name();
        this.clock = requireNonNull(clock, "clock");
        this.admission = requireNonNull(admission, "admission");
        this.listener = requireNonNull(listener, "listener");
        this.maxBatchSize = model.batching() ? loaded.config().maxBatchSize() : 1;
        this.maxQueueDelayNanos = loaded.config().maxQueueDelay().toNanos();
        this.maxQueueSize = loaded.config().maxQueueSize();
        for (int i = 0; i < loaded.config().instanceCount(); i++) {
            Thread worker = Thread.ofPlatform()
                    .name("levee-" + name + "-v" + loaded.version() + "-instance-" + i)
                    .daemon()
                    .unstarted(this::workLoop);
            workers.add(worker);
        }
        workers.forEach(Thread::start);
    }

    public LoadedModel model() {
        return loaded;
    }

    /**
     * Validates, admits and queues a request. The returned future completes with the response, or
     * exceptionally with an {@link InferenceException}; cancelling it removes a queued request.
     */
    public CompletableFuture<InferenceResponse> submit(InferenceRequest request) {
        CompletableFuture<InferenceResponse> future = new CompletableFuture<>();
        try {
            RequestValidator.validate(request, model, maxBatchSize);
        } catch (InferenceException e) {
            future.completeExceptionally(e);
            return future;
        }
        long now = clock.nanoTime();
        // A model that does not batch runs each request alone, whatever its first dimension. Counting
        // that dimension as rows could exceed the batch size of 1, and no batch would ever take it.
        int rows = model.batching() ? request.rows() : 1;
        Pending pending = new Pending(request, future, now, model.batchKey(request), rows);
        lock.lock();
        try {
            if (closed) {
                future.completeExceptionally(InferenceException.retryLater(ErrorKind.UNAVAILABLE,
                        "model '" + name + "' is unloading", 1));
                return future;
            }
            Optional<InferenceException> rejection = admission.reject(request, queueState(), now);
            if (rejection.isPresent()) {
                future.completeExceptionally(rejection.get());
                return future;
            }
            queue.addLast(pending);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        return future;
    }

    /** Requests waiting in the queue, including cancelled ones not yet swept out. */
    public int queueDepth() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    private QueueState queueState() {
        double batches = queue.size() / Math.max(1.0, averageBatchRequests);
        long drainNanos = (long) (batches * averageServiceNanos / workers.size());
        return new QueueState(queue.size(), maxQueueSize, drainNanos);
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

    /** Blocks until a batch is ready; returns an empty list once the scheduler is closed. */
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
                    changed.await();
                    continue;
                }
                long waitNanos = head.enqueuedNanos + maxQueueDelayNanos - now;
                if (waitNanos <= 0 || compatibleRows(head) >= maxBatchSize) {
                    return takeBatch(head, now);
                }
                changed.awaitNanos(waitNanos);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Removes queue heads that need no run: already answered, or past their deadline. */
    private void dropFinishedHead(long now) {
        Pending head;
        while ((head = queue.peekFirst()) != null) {
            if (head.future.isDone()) {
                queue.pollFirst();
            } else if (head.request.deadlineNanos() <= now) {
                queue.pollFirst();
                expire(head);
            } else {
                return;
            }
        }
    }

    private int compatibleRows(Pending head) {
        int rows = 0;
        for (Pending pending : queue) {
            if (pending.key.equals(head.key) && !pending.future.isDone()) {
                rows += pending.rows;
                if (rows >= maxBatchSize) {
                    break;
                }
            }
        }
        return rows;
    }

    private List<Pending> takeBatch(Pending head, long now) {
        List<Pending> batch = new ArrayList<>();
        int rows = 0;
        Iterator<Pending> it = queue.iterator();
        while (it.hasNext()) {
            Pending pending = it.next();
            if (!pending.key.equals(head.key)) {
                continue;
            }
            if (pending.future.isDone()) {
                it.remove();
                continue;
            }
            if (pending.request.deadlineNanos() <= now) {
                it.remove();
                expire(pending);
                continue;
            }
            if (rows + pending.rows > maxBatchSize) {
                break;
            }
            it.remove();
            rows += pending.rows;
            batch.add(pending);
        }
        return batch;
    }

    private void expire(Pending pending) {
        pending.future.completeExceptionally(InferenceException.of(ErrorKind.DEADLINE_EXCEEDED,
                "request to model '" + name + "' waited past its deadline; it was not run"));
    }

    private void runBatch(List<Pending> batch) {
        long start = clock.nanoTime();
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
            batch.forEach(p -> p.future.completeExceptionally(failure));
            recordBatch(batch.size(), rows, clock.nanoTime() - start);
            return;
        }
        recordBatch(batch.size(), rows, clock.nanoTime() - start);
        for (int i = 0; i < batch.size(); i++) {
            Pending pending = batch.get(i);
            switch (outcomes.get(i)) {
                case RowOutcome.Success success -> pending.future.complete(respond(pending.request, success));
                case RowOutcome.Failure failure -> pending.future.completeExceptionally(failure.error());
            }
        }
    }

    private void recordBatch(int requests, int rows, long serviceNanos) {
        lock.lock();
        try {
            averageServiceNanos = averageServiceNanos == 0
                    ? serviceNanos
                    : averageServiceNanos + SERVICE_TIME_WEIGHT * (serviceNanos - averageServiceNanos);
            averageBatchRequests += SERVICE_TIME_WEIGHT * (requests - averageBatchRequests);
        } finally {
            lock.unlock();
        }
        listener.batchCompleted(name, requests, rows, serviceNanos);
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
     * Stops the workers after their current batch and fails every queued request with
     * UNAVAILABLE. Waits at most {@code timeout} for running batches to finish.
     */
    public void close(long timeout, TimeUnit unit) {
        List<Pending> abandoned;
        lock.lock();
        try {
            closed = true;
            abandoned = new ArrayList<>(queue);
            queue.clear();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        InferenceException unavailable = InferenceException.retryLater(ErrorKind.UNAVAILABLE,
                "model '" + name + "' is unloading", 1);
        abandoned.forEach(p -> p.future.completeExceptionally(unavailable));
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        for (Thread worker : workers) {
            try {
                worker.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    @Override
    public void close() {
        close(30, TimeUnit.SECONDS);
    }

    private record Pending(
            InferenceRequest request,
            CompletableFuture<InferenceResponse> future,
            long enqueuedNanos,
            String key,
            int rows) {}
}
