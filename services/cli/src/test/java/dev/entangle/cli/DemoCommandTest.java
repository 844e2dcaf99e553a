package dev.entangle.cli;

import dev.entangle.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the demo ingests: every bundled checkpoint, in step order per run, with the run and step its trainer reported. */
class DemoCommandTest {

    @TempDir
    Path dir;

    @Test
    void theExamplesAreEveryFixtureCheckpointInStepOrder() throws Exception {
        DemoCommand demo = new DemoCommand();
        demo.examples = Fixtures.root();
        List<DemoCommand.Example> list = demo.examples();
        assertEquals(Fixtures.checkpoints().size(), list.size());
        for (String run : List.of("fft-lr1e-4", "lora-r16-a16", "lora-r16-a256", "lora-r4-a16", "mps-r8-chi8-a16")) {
            List<DemoCommand.Example> steps = list.stream().filter(e -> e.run().equals(run)).toList();
            assertEquals(List.of(1L, 30L, 150L), steps.stream().map(DemoCommand.Example::step).toList(), run + " in step order");
            assertTrue(steps.stream().allMatch(e -> e.fft() == run.startsWith("fft")), run + ": only the FFT run needs the base");
        }
    }

    @Test
    void aFolderWithoutRunsIsRefusedNamingIt() {
        DemoCommand demo = new DemoCommand();
        demo.examples = dir;
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, demo::examples);
        assertTrue(e.getMessage().startsWith(dir.toString()) && e.getMessage().contains("no runs/ folder"), e.getMessage());
    }

    @Test
    void theDemoNeedsTheStackAndSaysSo() throws Exception {
        Files.createDirectories(dir.resolve("runs"));
        ProfileCommandTest.Run r = ProfileCommandTest.run("demo", "--examples", Fixtures.root().toString(), "--ingest", "127.0.0.1:1",
                "--query", "127.0.0.1:1", "--figures", dir.toString());
        assertEquals(Errors.INTERNAL, r.code(), r.out());
        assertTrue(r.err().contains("unavailable (is the stack up? ./entangle up)"), r.err());
    }
}
