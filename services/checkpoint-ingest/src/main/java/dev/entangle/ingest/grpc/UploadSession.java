package dev.entangle.ingest.grpc;

import dev.entangle.core.CheckpointException;
import dev.entangle.ingest.core.CheckpointSource;
import dev.entangle.ingest.core.ScratchFolder;
import dev.entangle.proto.ingest.v1.FileChunk;
import dev.entangle.proto.ingest.v1.UploadHeader;
import dev.entangle.proto.ingest.v1.UploadRequest;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/**
 * One upload in flight: the header, then file chunks written straight to a private spool folder
 * (never held in memory), with the path and size rules enforced as they arrive. Refusals name the
 * folder as the header's {@code source} gives it, never the spool folder. Closing it deletes the
 * folder, whatever happened.
 */
final class UploadSession implements AutoCloseable {

    /** How a refusal names an upload whose client gave no source. */
    static final String UNNAMED = "the upload";

    private final ScratchFolder scratch;
    private final Path dir;
    private final long maxBytes;
    private final Map<String, FileChannel> files = new HashMap<>();
    private final Map<String, Long> sizes = new HashMap<>();
    private UploadHeader header;
    private long received;
    private String currentFile = "";

    UploadSession(Path spoolRoot, long maxBytes) throws IOException {
        this.scratch = ScratchFolder.create(spoolRoot, "upload-");
        this.dir = scratch.path();
        this.maxBytes = maxBytes;
    }

    /** The folder as the user names it (the header's source), for the ingester and its refusals. */
    CheckpointSource source() {
        return header == null || header.getSource().isBlank() ? CheckpointSource.unnamed(UNNAMED) : CheckpointSource.ofPath(header.getSource());
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
            throw invalid(rel, "chunk out of order", "offset " + c.getOffset() + ", expected " + expected);
        }
        received += c.getData().size();
        if (received > maxBytes) {
            throw invalid(rel, "upload size limit", "more than " + maxBytes + " bytes");
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
    String checkPath(String p) {
        try {
            return safePath(p);
        } catch (CheckpointException e) {
            throw e.shownAs(dir, source().shownAs());
        }
    }

    /** The path rule on its own (no session: the names are the user's). */
    static String safePath(String p) {
        if (p.isEmpty() || p.startsWith("/") || p.startsWith("\\") || p.contains("\\") || p.contains("\0")
                || Path.of(p).isAbsolute()) {
            throw new CheckpointException(null, null, "unsafe file path", "'" + p + "' must be a relative path inside the checkpoint folder");
        }
        for (String seg : p.split("/")) {
            if (seg.isEmpty() || seg.equals(".") || seg.equals("..")) {
                throw new CheckpointException(null, null, "unsafe file path", "'" + p + "' must not contain '.', '..' or empty segments");
            }
        }
        return p;
    }

    /** A refusal of the upload as a whole, naming it as the user does. */
    private CheckpointException invalid(String rule, String detail) {
        return new CheckpointException(null, null, rule, detail).shownAs(dir, source().shownAs());
    }

    /** A refusal of one of its files. */
    private CheckpointException invalid(String file, String rule, String detail) {
        return new CheckpointException(dir.resolve(file), null, rule, detail).shownAs(dir, source().shownAs());
    }

    /** Closes the files and returns the folder holding the complete checkpoint. */
    Path finish() throws IOException {
        if (header == null) throw invalid("header missing", "the upload sent no UploadHeader");
        if (files.isEmpty()) throw invalid("no files", "the upload sent no file chunks");
        closeFiles();
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
        scratch.close();
    }
}
