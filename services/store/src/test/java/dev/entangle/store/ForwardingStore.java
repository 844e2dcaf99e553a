package dev.entangle.store;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** An object store that passes every call on; tests override the calls they want to disturb. */
public class ForwardingStore implements ObjectStore {

    private final ObjectStore inner;

    public ForwardingStore(ObjectStore inner) {
        this.inner = inner;
    }

    @Override public boolean exists(String key) throws IOException { return inner.exists(key); }

    @Override public void put(String key, Path file, String contentType) throws IOException { inner.put(key, file, contentType); }

    @Override public void put(String key, byte[] bytes, String contentType) throws IOException { inner.put(key, bytes, contentType); }

    @Override public boolean putIfAbsent(String key, byte[] bytes, String contentType) throws IOException { return inner.putIfAbsent(key, bytes, contentType); }

    @Override public InputStream open(String key) throws IOException { return inner.open(key); }

    @Override public Optional<byte[]> read(String key) throws IOException { return inner.read(key); }

    @Override public void download(String key, Path target) throws IOException { inner.download(key, target); }

    @Override public void delete(String key) throws IOException { inner.delete(key); }

    @Override public List<String> list(String prefix) throws IOException { return inner.list(prefix); }

    @Override public void ensureReady() throws IOException { inner.ensureReady(); }
}
