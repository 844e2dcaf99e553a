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

    /**
     * Every rule of the safetensors format and of the checkpoint layout has a case (the corpus's
     * point: each rule is reachable from a file on disk, and is named when broken).
     */
    @Test
    void everyRuleHasACase() {
        java.util.Set<String> rules = new java.util.TreeSet<>();
        BadInputs.all().forEach(c -> rules.add(c.rule()));
        for (String rule : java.util.List.of("truncated file", "header length beyond end of file", "header too large",
                "header not valid JSON", "header not a JSON object", "duplicate key in header", "unknown dtype",
                "shape x dtype size != offset span", "offsets overlap", "offsets outside file", "hole in data buffer",
                "invalid data_offsets", "metadata not a string map", "non-finite value", "not a matrix", "not a float tensor",
                "pickle format refused", "unsafe shard path", "shard missing", "not a checkpoint folder", "missing base for FFT",
                "base of another architecture", "LoRA A/B shape mismatch", "r in config != tensor rank", "MPS core shape mismatch",
                "probe shape mismatch", "probe metadata missing", "bad probe metadata")) {
            assertTrue(rules.contains(rule), "no case breaks '" + rule + "'; the corpus has " + rules);
        }
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
