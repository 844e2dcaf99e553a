package dev.entangle.store;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** The object store every service shares (S3 / MinIO in deployment, S3Proxy on one machine). */
public interface ObjectStore {

    boolean exists(String key) throws IOException;

    /** Uploads a file's bytes (streamed, never held whole in memory). */
    void put(String key, Path file, String contentType) throws IOException;

    void put(String key, byte[] bytes, String contentType) throws IOException;

    /**
     * Writes the object only if no object has that key, atomically on the server (an S3
     * conditional write, {@code If-None-Match: *}); false when one exists. First-writer-wins
     * claims (a run's owner) rest on it.
     */
    boolean putIfAbsent(String key, byte[] bytes, String contentType) throws IOException;

    /** Streams an object; the caller closes the stream. */
    InputStream open(String key) throws IOException;

    /** Small objects (manifests, markers): the whole object, or empty when it does not exist. */
    Optional<byte[]> read(String key) throws IOException;

    /** Downloads an object to a file (streamed). */
    void download(String key, Path target) throws IOException;

    void delete(String key) throws IOException;

    /** Keys under a prefix, recursively, in lexical order. */
    List<String> list(String prefix) throws IOException;

    /** Checks that the store answers and the bucket exists (creates it when allowed); for readiness. */
    void ensureReady() throws IOException;
}
