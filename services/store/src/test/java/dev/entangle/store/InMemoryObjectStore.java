package dev.entangle.store;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;

/** Unit tests only: the real stack uses S3ObjectStore against a real S3 server. */
public final class InMemoryObjectStore implements ObjectStore {

    public final ConcurrentSkipListMap<String, byte[]> objects = new ConcurrentSkipListMap<>();
    /** When set, the n-th put (1-based) fails, to test clean-up. */
    public int failOnPut = -1;
    private int puts;

    @Override public boolean exists(String key) { return objects.containsKey(key); }

    @Override public void put(String key, Path file, String contentType) throws IOException { put(key, Files.readAllBytes(file), contentType); }

    @Override public void put(String key, byte[] bytes, String contentType) throws IOException {
        if (++puts == failOnPut) throw new IOException("injected failure on put #" + puts + " (" + key + ")");
        objects.put(key, bytes.clone());
    }

    @Override public boolean putIfAbsent(String key, byte[] bytes, String contentType) throws IOException {
        if (++puts == failOnPut) throw new IOException("injected failure on put #" + puts + " (" + key + ")");
        return objects.putIfAbsent(key, bytes.clone()) == null;
    }

    @Override public InputStream open(String key) throws IOException {
        byte[] b = objects.get(key);
        if (b == null) throw new IOException("no such key " + key);
        return new ByteArrayInputStream(b);
    }

    @Override public Optional<byte[]> read(String key) { return Optional.ofNullable(objects.get(key)).map(byte[]::clone); }

    @Override public void download(String key, Path target) throws IOException { Files.write(target, open(key).readAllBytes()); }

    @Override public void delete(String key) { objects.remove(key); }

    @Override public List<String> list(String prefix) { return objects.keySet().stream().filter(k -> k.startsWith(prefix)).toList(); }

    @Override public void ensureReady() {}
}
