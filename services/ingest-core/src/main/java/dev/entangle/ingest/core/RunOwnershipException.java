package dev.entangle.ingest.core;

/** A tenant tried to add a checkpoint to a run another tenant owns (tenancy on). */
public final class RunOwnershipException extends RuntimeException {

    public RunOwnershipException(String message) {
        super(message);
    }
}
