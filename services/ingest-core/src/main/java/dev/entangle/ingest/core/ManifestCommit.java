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

    /** Writes the spool's blobs, the manifest at {@code manifestKey} and (when given) the index; the bytes uploaded. */
    long commit(Spool spool, CheckpointManifest m, String manifestKey, String indexKey) throws IOException {
        List<String> created = new ArrayList<>();
        long bytes = 0;
        try {
            for (Map.Entry<String, Blob> e : spool.blobs().entrySet()) {
                bytes += upload(e.getValue(), spool.file(e.getKey()), created);
            }
            if (spool.probe() != null) bytes += upload(spool.probe(), spool.probeFile(), created);
            store.put(manifestKey, m.toJson(), "application/json");
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
