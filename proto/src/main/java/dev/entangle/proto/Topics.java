package dev.entangle.proto;

/**
 * The Kafka topics, defined once. SmallRye channels carry the same names, so a service's
 * {@code mp.messaging.*.<channel>.topic} keys and the k8s/KEDA manifests refer to these strings.
 */
public final class Topics {

    /** {@code entangle.events.v1.CheckpointIngested}, keyed by run: a checkpoint's objects are all stored. */
    public static final String CHECKPOINTS_INGESTED = "checkpoints-ingested";

    private Topics() {}
}
