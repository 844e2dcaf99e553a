package dev.entangle.ingest.core;

import dev.entangle.store.CheckpointManifest;

import java.util.List;

/**
 * The result of an ingest.
 *
 * @param manifest   the stored manifest (new or found)
 * @param state      NEW: stored now, its event must be published; UNPUBLISHED: stored earlier but its
 *                   event was never acknowledged (publish again); DUPLICATE: already stored and
 *                   published, or committed meanwhile by a concurrent ingest of the same checkpoint
 *                   (which announces it): nothing to do
 * @param bytesStored bytes uploaded by this call (0 for duplicates)
 * @param notes      what the user should know, one line each (pickles left alone, modules_to_save not profiled)
 */
public record IngestOutcome(CheckpointManifest manifest, State state, long bytesStored, List<String> notes) {

    public IngestOutcome {
        notes = List.copyOf(notes);
    }

    public enum State { NEW, UNPUBLISHED, DUPLICATE }

    public boolean needsEvent() { return state != State.DUPLICATE; }
}
