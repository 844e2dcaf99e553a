package dev.entangle.ingest.core;

import dev.entangle.store.InMemoryObjectStore;
import dev.entangle.core.CheckpointException;
import dev.entangle.core.testing.BadInputs;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Ingest refuses every corpus case with its rule and writes nothing (a registered base stays as it was). */
class BadInputIngestTest {

    @TempDir
    Path tmp;

    @TestFactory
    Stream<DynamicTest> everyCaseLeavesNothing() {
        return BadInputs.all().stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
            Path dir = Files.createDirectories(tmp.resolve(c.name().replaceAll("[^A-Za-z0-9]+", "-")));
            BadInputs.Built b = c.builder().build(dir);
            InMemoryObjectStore store = new InMemoryObjectStore();
            CheckpointIngester ingester = new CheckpointIngester(store, dir.resolve("spool"), List.of("q_proj", "v_proj"));
            if (b.base() != null) ingester.registerBase(b.base(), "base");
            String baseId = b.base() != null ? "base" : null;
            Set<String> before = new TreeSet<>(store.objects.keySet());
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> ingester.ingest(b.checkpoint(), new IngestRequest("run", 1L, c.name().startsWith("FFT") ? null : baseId, null, null, null, null, null)));
            assertEquals(c.rule(), e.rule(), e.getMessage());
            assertEquals(before, new TreeSet<>(store.objects.keySet()), "no object written");
        }));
    }
}
