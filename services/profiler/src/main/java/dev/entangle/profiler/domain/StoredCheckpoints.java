package dev.entangle.profiler.domain;

import dev.entangle.core.CheckpointException;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.checkpoint.CheckpointKind;
import dev.entangle.store.CheckpointManifest;
import dev.entangle.store.Layout;
import dev.entangle.store.ObjectStore;

import java.io.IOException;
import java.nio.file.Path;

/** Checkpoints rebuilt from their manifests and blobs in the object store. */
public final class StoredCheckpoints {

    private final ObjectStore store;
    private final BlobTensorSource.BlobCache cache;

    public StoredCheckpoints(ObjectStore store, BlobTensorSource.BlobCache cache) {
        this.store = store;
        this.cache = cache;
    }

    /** Where this store's blobs are fetched to. */
    BlobTensorSource.BlobCache cache() { return cache; }

    public CheckpointManifest manifest(String key) throws IOException {
        byte[] json = store.read(key).orElseThrow(() ->
                new CheckpointException(Path.of(key), null, "manifest missing", "not in the object store"));
        return CheckpointManifest.fromJson(json);
    }

    public Checkpoint open(CheckpointManifest m) {
        // a registered base is a full model too
        CheckpointKind kind = m.isBase() ? CheckpointKind.FULL_MODEL : CheckpointKind.ofMethod(m.method()).orElseThrow(() ->
                new CheckpointException(Path.of(m.id()), null, "unknown method", m.method()));
        Path where = Path.of("s3:", m.run() == null ? Layout.baseManifest(m.id()) : Layout.checkpointManifest(m.id()));
        return Checkpoint.of(where, kind, m.config(), new BlobTensorSource(where, m.tensors(), cache));
    }

    public Checkpoint base(String baseId) throws IOException {
        return open(manifest(Layout.baseManifest(baseId)));
    }

    /** The attention probe file (fetched once into the cache). */
    public Path probe(CheckpointManifest m) throws IOException {
        if (m.probe() == null) throw new CheckpointException(Path.of(m.id()), null, "no attention probe", "the checkpoint was ingested without one");
        return cache.fetch(m.probe());
    }
}
