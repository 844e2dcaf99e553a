package dev.entangle.ingest.core;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A private folder under the service's spool root where a checkpoint is assembled before it is
 * ingested (an upload's chunks, objects downloaded for a registration). An internal detail: the
 * user never sees its name ({@link CheckpointSource} is what refusals show). Closing it deletes it.
 */
public final class ScratchFolder implements AutoCloseable {

    private final Path dir;

    private ScratchFolder(Path dir) {
        this.dir = dir;
    }

    public static ScratchFolder create(Path root, String prefix) throws IOException {
        Files.createDirectories(root);
        return new ScratchFolder(Files.createTempDirectory(root, prefix));
    }

    public Path path() { return dir; }

    /** Deletes the folder and everything in it; a leftover holds no object and no event. */
    @Override
    public void close() {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // the next start may clean it; nothing was published from it
        }
    }
}
