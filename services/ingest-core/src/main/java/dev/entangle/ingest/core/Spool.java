package dev.entangle.ingest.core;

import dev.entangle.core.safetensors.TensorInfo;
import dev.entangle.core.safetensors.TensorSource;
import dev.entangle.store.CheckpointManifest.Blob;
import dev.entangle.store.Layout;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The selected tensors written locally as one-tensor safetensors files (bytes unchanged, in
 * bounded chunks), each hashed on the way: their blobs, content-addressed by sha256, are known
 * before anything is uploaded. Closing it deletes the folder.
 */
final class Spool implements AutoCloseable {

    private final Path dir;
    private final Map<String, Blob> blobs;
    private final Map<String, Path> files;
    private final Blob probe;
    private final Path probeFile;

    private Spool(Path dir, Map<String, Blob> blobs, Map<String, Path> files, Blob probe, Path probeFile) {
        this.dir = dir;
        this.blobs = blobs;
        this.files = files;
        this.probe = probe;
        this.probeFile = probeFile;
    }

    /** Spools {@code tensors} of {@code src} under a new folder of {@code root}; the probe file (or null) is hashed in place. */
    static Spool write(Path root, TensorSource src, List<String> tensors, Path probeFile) throws IOException {
        Files.createDirectories(root);
        Path dir = Files.createTempDirectory(root, "ingest-");
        Map<String, Blob> blobs = new TreeMap<>();
        Map<String, Path> files = new TreeMap<>();
        try {
            int i = 0;
            for (String name : tensors) {
                Path f = dir.resolve("t" + (i++) + ".safetensors");
                TensorInfo t = src.info(name);
                MessageDigest md = sha256();
                try (OutputStream out = new DigestOutputStream(new java.io.BufferedOutputStream(Files.newOutputStream(f), 1 << 16), md)) {
                    src.writeStandalone(name, out);
                }
                String sha = HexFormat.of().formatHex(md.digest());
                blobs.put(name, new Blob(Layout.blob(sha), sha, Files.size(f), t.dtype().name(), Arrays.stream(t.shape()).boxed().toList()));
                files.put(name, f);
            }
            Blob probe = null;
            if (probeFile != null) {
                String sha = sha256(probeFile);
                probe = new Blob(Layout.blob(sha), sha, Files.size(probeFile), null, null);
            }
            return new Spool(dir, blobs, files, probe, probeFile);
        } catch (IOException | RuntimeException e) {
            delete(dir);
            throw e;
        }
    }

    /** Tensor name → blob, sorted by name. */
    Map<String, Blob> blobs() { return blobs; }

    /** The spooled file of a tensor. */
    Path file(String tensor) { return files.get(tensor); }

    /** The probe's blob, or null. */
    Blob probe() { return probe; }

    Path probeFile() { return probeFile; }

    @Override
    public void close() throws IOException {
        delete(dir);
    }

    private static void delete(Path dir) throws IOException {
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String sha256(Path file) throws IOException {
        MessageDigest md = sha256();
        try (var in = new DigestInputStream(Files.newInputStream(file), md)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
