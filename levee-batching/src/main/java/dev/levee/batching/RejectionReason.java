package dev.levee.batching;

import java.util.Locale;

/** Why admission turned a request away; a label on the rejection metric. */
public enum RejectionReason {
    /** The queue holds its maximum number of requests. */
    QUEUE_FULL,
    /** The queued work would take longer to drain than the target queue delay. */
    QUEUE_DELAY,
    /** The expected wait plus service time exceeds the time left before the request's deadline. */
    DEADLINE,
    /** The model is under pressure and the request is of low priority. */
    LOW_PRIORITY;

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
