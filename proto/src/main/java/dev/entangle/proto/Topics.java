package dev.entangle.proto;

/**
 * The Kafka topics, defined once. SmallRye channels carry the same names, so a service's
 * {@code mp.messaging.*.<channel>.topic} keys and the k8s/KEDA manifests refer to these strings.
 */
public final class Topics {

    /** {@code entangle.events.v1.CheckpointIngested}, keyed by run: a checkpoint's objects are all stored. */
    public static final String CHECKPOINTS_INGESTED = "checkpoints-ingested";

    /** {@code ProfileTask}, keyed by checkpoint id and target (a checkpoint's units spread over partitions): one unit of a checkpoint's analysis; consumer lag drives autoscaling. */
    public static final String PROFILE_TASKS = "profile-tasks";

    /** {@code ProfileComputed}, keyed by run: one unit's profiles. */
    public static final String PROFILES_COMPUTED = "profiles-computed";

    /** Tasks that cannot be processed (the task bytes, with the reason in the {@code dead-letter-reason} header). */
    public static final String PROFILE_TASKS_DLQ = "profile-tasks-dlq";

    /**
     * The profiler both plans tasks onto {@link #PROFILE_TASKS} and consumes them; SmallRye
     * forbids one channel name for both directions, so the planner's outgoing channel has this
     * name and {@code topic=profile-tasks}.
     */
    public static final String PROFILE_TASKS_OUT = "profile-tasks-out";

    /** Every topic above (not the channel name {@link #PROFILE_TASKS_OUT}): what a stack creates. A new topic joins this list. */
    public static final java.util.List<String> ALL = java.util.List.of(CHECKPOINTS_INGESTED, PROFILE_TASKS, PROFILES_COMPUTED, PROFILE_TASKS_DLQ);

    private Topics() {}
}
