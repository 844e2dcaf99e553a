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
     * Object-store event notifications in the S3 format ({@code Records[].eventName},
     * {@code s3.bucket.name}, {@code s3.object.key} URL-encoded), as MinIO publishes them to Kafka
     * natively (and S3 through a bridge): a watched checkpoint folder is registered when its
     * completion marker lands.
     */
    public static final String OBJECT_STORE_EVENTS = "object-store-events";

    /** {@code CheckpointSaved} (protobuf or JSON), from training jobs: a checkpoint folder in the object store is complete. */
    public static final String CHECKPOINTS_SAVED = "checkpoints-saved";

    /** Events of the two topics above that cannot be ingested (the bytes, with the reason in the {@code dead-letter-reason} header). */
    public static final String INGEST_EVENTS_DLQ = "ingest-events-dlq";

    /**
     * The profiler both plans tasks onto {@link #PROFILE_TASKS} and consumes them; SmallRye
     * forbids one channel name for both directions, so the planner's outgoing channel has this
     * name and {@code topic=profile-tasks}.
     */
    public static final String PROFILE_TASKS_OUT = "profile-tasks-out";

    /** Every topic above (not the channel name {@link #PROFILE_TASKS_OUT}): what a stack creates. A new topic joins this list. */
    public static final java.util.List<String> ALL = java.util.List.of(CHECKPOINTS_INGESTED, PROFILE_TASKS, PROFILES_COMPUTED, PROFILE_TASKS_DLQ,
            OBJECT_STORE_EVENTS, CHECKPOINTS_SAVED, INGEST_EVENTS_DLQ);

    private Topics() {}
}
