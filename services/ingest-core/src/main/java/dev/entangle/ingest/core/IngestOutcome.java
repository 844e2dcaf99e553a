package dev.entangle.ingest.core;

import dev.entangle.store.CheckpointManifest;


/**
 * The result of an ingest.
 *
 * @param manifest   the stored manifest (new or found)
 * @param state      NEW: stored now, its event must be published; UNPUBLISHED: stored earlier but its
 *                   event was never acknowledged (publish again); DUPLICATE: already stored and
 *                   published, nothing to do
 * @param bytesStored bytes uploaded by this call (0 for duplicates)
 */
public record IngestOutcome(CheckpointManifest manifest, State state, long bytesStored) {

    public enum State { NEW, UNPUBLISHED, DUPLICATE }

    public boolean needsEvent() { return state != State.DUPLICATE; }
}
