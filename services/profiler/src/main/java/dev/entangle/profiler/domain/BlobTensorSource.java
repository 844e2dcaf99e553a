package dev.entangle.profiler.domain;

import dev.entangle.core.CheckpointException;
import dev.entangle.core.safetensors.SafetensorsFile;
import dev.entangle.core.safetensors.TensorInfo;
import dev.entangle.core.safetensors.TensorSource;
import dev.entangle.store.CheckpointManifest.Blob;
import dev.entangle.store.ObjectStore;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * A checkpoint's tensors as stored by ingest: one blob (a one-tensor safetensors file) per
 * tensor. Blobs are fetched on first use only, so a unit reads just the tensors it needs.
 */
public final class BlobTensorSource implements TensorSource {

    private final Path location;
    private final Map<String, Blob> blobs;
    private final BlobCache cache;
    private final Map<String, SafetensorsFile> open = new HashMap<>();
    private final Map<String, String> metadata;

    public BlobTensorSource(Path location, Map<String, Blob> blobs, BlobCache cache) {
        this(location, blobs, cache, Map.of());
    }

    /**
     * With the source's {@code __metadata__} (a stored forward probe's geometry); a blob may hold
     * several of the tensors (a forward probe's shard holds a layer's four).
     */
    public BlobTensorSource(Path location, Map<String, Blob> blobs, BlobCache cache, Map<String, String> metadata) {
        this.location = location;
        this.blobs = Map.copyOf(blobs);
        this.cache = cache;
        this.metadata = Map.copyOf(metadata);
    }

    private synchronized SafetensorsFile file(String name) {
        Blob b = blobs.get(name);
        if (b == null) throw new CheckpointException(location, name, "tensor missing", "not in the manifest");
        return open.computeIfAbsent(name, n -> {
            try {
                return SafetensorsFile.open(cache.fetch(b));
            } catch (IOException e) {
                throw new UncheckedIOException("fetching " + b.key() + ": " + e.getMessage(), e);
            }
        });
    }

    @Override
    public Path location() { return location; }

    @Override
    public Set<String> names() { return blobs.keySet(); }

    @Override
    public TensorInfo info(String name) { return file(name).info(name); }

    @Override
    public double[] readDoubles(String name) { return file(name).readDoubles(name); }

    @Override
    public float[] readFloats(String name) { return file(name).readFloats(name); }

    @Override
    public void readFloatsInto(String name, float[] into) { file(name).readFloatsInto(name, into); }

    /** Only the rows asked for (an embedding table's rows of a probe's tokens), from the blob's own file. */
    @Override
    public float[] readRowsFloat(String name, int[] rows) { return file(name).readRowsFloat(name, rows); }

    @Override
    public void requireFinite(String name) { file(name).requireFinite(name); }

    @Override
    public void writeStandalone(String name, OutputStream out) throws IOException { file(name).writeStandalone(name, out); }

    @Override
    public Map<String, String> metadata() { return metadata; }

    @Override
    public synchronized void close() {
        open.values().forEach(SafetensorsFile::close);
        open.clear();
    }

    /** Blobs fetched from the object store into a local folder, verified against their digest. */
    public interface BlobCache {
        Path fetch(Blob blob) throws IOException;
    }

    /** The default cache: content-addressed files under a folder, downloaded once. */
    public static BlobCache onDisk(ObjectStore store, Path dir) {
        return blob -> {
            Path f = dir.resolve(blob.sha256());
            if (java.nio.file.Files.isRegularFile(f) && java.nio.file.Files.size(f) == blob.bytes()) return f;
            java.nio.file.Files.createDirectories(dir);
            store.download(blob.key(), f);
            String sha = sha256(f);
            if (!sha.equals(blob.sha256())) {
                java.nio.file.Files.deleteIfExists(f);
                throw new IOException("blob " + blob.key() + " has digest " + sha + ", expected " + blob.sha256());
            }
            return f;
        };
    }

    static String sha256(Path file) throws IOException {
        try {
            java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
            try (var in = new java.security.DigestInputStream(java.nio.file.Files.newInputStream(file), md)) {
                in.transferTo(OutputStream.nullOutputStream());
            }
            return java.util.HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
