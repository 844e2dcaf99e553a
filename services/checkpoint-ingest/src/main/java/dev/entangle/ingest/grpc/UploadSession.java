package dev.entangle.ingest.grpc;

import dev.entangle.core.CheckpointException;
import dev.entangle.proto.ingest.v1.FileChunk;
import dev.entangle.proto.ingest.v1.UploadHeader;
import dev.entangle.proto.ingest.v1.UploadRequest;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * One upload in flight: the header, then file chunks written straight to a private spool folder
 * (never held in memory), with the path and size rules enforced as they arrive. Closing it
 * deletes the folder, whatever happened.
 */
final class UploadSession implements AutoCloseable {

    private final Path dir;
    private final long maxBytes;
    private final Map<String, FileChannel> files = new HashMap<>();
    private final Map<String, Long> sizes = new HashMap<>();
    private UploadHeader header;
    private long received;
    private String currentFile = "";

    UploadSession(Path spoolRoot, long maxBytes) throws IOException {
        Files.createDirectories(spoolRoot);
        this.dir = Files.createTempDirectory(spoolRoot, "upload-");
        this.maxBytes = maxBytes;
    }

    void accept(UploadRequest req) throws IOException {
        switch (req.getPartCase()) {
            case HEADER -> {
                if (header != null) throw invalid("second header", "an upload has exactly one UploadHeader, sent first");
                header = req.getHeader();
            }
            case CHUNK -> {
                if (header == null) throw invalid("header missing", "the first message must be the UploadHeader");
                write(req.getChunk());
            }
            default -> throw invalid("empty message", "neither header nor chunk");
        }
    }

    private void write(FileChunk c) throws IOException {
        String rel = checkPath(c.getPath());
        long expected = sizes.getOrDefault(rel, 0L);
        if (c.getOffset() != expected) {
            throw invalid("chunk out of order", rel + ": offset " + c.getOffset() + ", expected " + expected);
        }
        received += c.getData().size();
        if (received > maxBytes) {
            throw invalid("upload size limit", "more than " + maxBytes + " bytes");
        }
        FileChannel ch = files.get(rel);
        if (ch == null) {
            Path target = dir.resolve(rel);
            Files.createDirectories(target.getParent());
            ch = FileChannel.open(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            files.put(rel, ch);
        }
        ByteBuffer buf = c.getData().asReadOnlyByteBuffer();
        while (buf.hasRemaining()) ch.write(buf);
        sizes.put(rel, expected + c.getData().size());
        currentFile = rel;
    }

    /** Relative, normalised, inside the folder: no "..", no absolute paths, no empty segments. */
    static String checkPath(String p) {
        if (p.isEmpty() || p.startsWith("/") || p.startsWith("\\") || p.contains("\\") || p.contains("\0")
                || Path.of(p).isAbsolute()) {
            throw invalid("unsafe file path", "'" + p + "' must be a relative path inside the checkpoint folder");
        }
        for (String seg : p.split("/")) {
            if (seg.isEmpty() || seg.equals(".") || seg.equals("..")) {
                throw invalid("unsafe file path", "'" + p + "' must not contain '.', '..' or empty segments");
            }
        }
        return p;
    }

    private static CheckpointException invalid(String rule, String detail) {
        return new CheckpointException(null, null, rule, detail);
    }

    /** Closes the files and returns the folder holding the complete checkpoint. */
    Path finish() throws IOException {
        if (header == null) throw invalid("header missing", "the upload sent no UploadHeader");
        if (files.isEmpty()) throw invalid("no files", "the upload sent no file chunks");
        closeFiles();
        return dir;
    }

    /** The folder, for callers that place whole files themselves (registration from the object store). */
    Path finishEmpty() {
        return dir;
    }

    UploadHeader header() { return header; }

    long received() { return received; }

    String currentFile() { return currentFile; }

    private void closeFiles() throws IOException {
        for (FileChannel ch : files.values()) ch.close();
        files.clear();
    }

    @Override
    public void close() {
        try {
            closeFiles();
        } catch (IOException ignored) {
            // the folder goes below regardless
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // a leftover spool folder holds no object and no event; the next start may clean it
        }
    }
}
