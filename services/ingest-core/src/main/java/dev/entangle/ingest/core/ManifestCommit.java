package dev.entangle.ingest.core;

import dev.entangle.store.CheckpointManifest;
import dev.entangle.store.CheckpointManifest.Blob;
import dev.entangle.store.ObjectStore;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The two-phase write of a checkpoint: missing blobs first (content-addressed: a blob already
 * there is not written again), then the manifest (the commit point), then the run/step index.
 * On failure every object this commit created is deleted again, so a reader sees all or nothing.
 */
final class ManifestCommit {

    private final ObjectStore store;

    ManifestCommit(ObjectStore store) {
        this.store = store;
    }

    /** Returned by {@link #commit} when another ingest committed the same manifest first. */
    static final long LOST_RACE = -1;

    /**
     * Writes the spool's blobs, the manifest at {@code manifestKey} and (when given) the index; the
     * bytes uploaded. The manifest is written only if absent (a conditional write): two ingests of
     * one checkpoint at once (an object-store notification and a checkpoint event, say) commit it
     * once; the loser returns {@link #LOST_RACE} and keeps its blobs, which are the winner's too.
     */
    long commit(Spool spool, CheckpointManifest m, String manifestKey, String indexKey) throws IOException {
        List<String> created = new ArrayList<>();
        long bytes = 0;
        try {
            for (Map.Entry<String, Blob> e : spool.blobs().entrySet()) {
                bytes += upload(e.getValue(), spool.file(e.getKey()), created);
            }
            if (spool.probe() != null) bytes += upload(spool.probe(), spool.probeFile(), created);
            if (!store.putIfAbsent(manifestKey, m.toJson(), "application/json")) return LOST_RACE;
            created.add(manifestKey);
            if (indexKey != null) store.put(indexKey, m.id().getBytes(StandardCharsets.UTF_8), "text/plain");
            return bytes;
        } catch (IOException | RuntimeException e) {
            for (String k : created) {
                try {
                    store.delete(k);
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    private long upload(Blob b, Path file, List<String> created) throws IOException {
        if (store.exists(b.key())) return 0; // content-addressed: already there
        store.put(b.key(), file, "application/octet-stream");
        created.add(b.key());
        return b.bytes();
    }
}
