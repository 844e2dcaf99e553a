package dev.entangle.core.profile;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A pass folder is named for its process; only folders whose process has ended are removed as abandoned. */
class ProbeFolderTest {

    @TempDir
    Path scratch;

    @Test
    void removesOnlyTheFoldersOfEndedProcesses() throws Exception {
        Process ended = new ProcessBuilder("true").start();
        ended.waitFor();
        Path dead = Files.createDirectories(scratch.resolve("forward-" + ended.pid() + "-123"));
        Files.writeString(dead.resolve("layers.0.safetensors"), "captures so far");
        Path other = Files.createDirectories(scratch.resolve("spectra-7"));
        ProbeFolder live = ProbeFolder.temporary(scratch);
        try {
            Path mine;
            try (var entries = Files.list(scratch)) {
                mine = entries.filter(p -> p.getFileName().toString().startsWith("forward-" + ProcessHandle.current().pid() + "-")).findFirst().orElseThrow();
            }
            assertEquals(List.of(dead), ProbeFolder.removeAbandoned(scratch));
            assertFalse(Files.exists(dead), "the ended process's folder is removed");
            assertTrue(Files.isDirectory(mine), "a live process's folder stays");
            assertTrue(Files.isDirectory(other), "other scratch files stay");
        } finally {
            live.close();
        }
        assertEquals(List.of(), ProbeFolder.removeAbandoned(scratch.resolve("absent")));
    }
}
