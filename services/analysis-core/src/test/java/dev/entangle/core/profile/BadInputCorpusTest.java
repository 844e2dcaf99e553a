package dev.entangle.core.profile;

import dev.entangle.core.CheckpointException;
import dev.entangle.core.profile.ProfileCalculator;
import dev.entangle.core.testing.BadInputs;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every case of the bad-input corpus is refused by the offline profile path, naming its rule and a path. */
class BadInputCorpusTest {

    @TempDir
    Path tmp;

    @Test
    void theCorpusIsLarge() {
        assertTrue(BadInputs.all().size() >= 30, "issue 8 asks for at least 30 cases");
    }

    @Test
    void theStartingPointIsGood() throws Exception {
        Path ok = BadInputs.goodLora(tmp.resolve("ok"));
        var doc = new CheckpointProfiler(ProfileCalculator.fromEnvironment()).profile(new CheckpointProfiler.Request(ok, null, null, null, null, false));
        assertEquals(1, doc.get("deltas").size());
    }

    @TestFactory
    Stream<DynamicTest> everyCaseIsRefusedWithItsRule() {
        CheckpointProfiler profiler = new CheckpointProfiler(ProfileCalculator.fromEnvironment());
        return BadInputs.all().stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
            Path dir = Files.createDirectories(tmp.resolve(c.name().replaceAll("[^A-Za-z0-9]+", "-")));
            BadInputs.Built b = c.builder().build(dir);
            CheckpointException e = assertThrows(CheckpointException.class, () ->
                    profiler.profile(new CheckpointProfiler.Request(b.checkpoint(), b.base(), null, null, null, false)));
            assertEquals(c.rule(), e.rule(), e.getMessage());
            assertTrue(e.getMessage().startsWith(dir.toString()) || e.getMessage().startsWith(b.checkpoint().toString()),
                    "names the file: " + e.getMessage());
            assertEquals(1, e.getMessage().lines().count(), "one line");
        }));
    }
}
