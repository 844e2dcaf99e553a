package dev.entangle.ingest.domain;

import dev.entangle.proto.events.v1.CheckpointSaved;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * examples/training-cluster/entangle_callback.py, driven as HF Trainer calls on_save (with a fake
 * producer: the stack test publishes through a real broker), publishes what the ingest service
 * reads as a CheckpointSaved under the folder layout Trainer writes.
 */
class TrainerCallbackTest {

    static Path examples() {
        for (Path q = Path.of("").toAbsolutePath(); q != null; q = q.getParent()) {
            Path c = q.resolve("examples/training-cluster");
            if (Files.isDirectory(c)) return c;
        }
        throw new IllegalStateException("examples/training-cluster not found");
    }

    static String run(String... args) throws Exception {
        var cmd = new java.util.ArrayList<>(java.util.List.of("python3", "test_entangle_callback.py"));
        cmd.addAll(java.util.List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(examples().toFile()).redirectErrorStream(true);
        pb.environment().put("PYTHONDONTWRITEBYTECODE", "1");   // nothing written into the source tree
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "python3 did not finish");
        assertEquals(0, p.exitValue(), out);
        return out.strip();
    }

    @Test
    void onSavePublishesTheCheckpointFolderAsACheckpointSaved() throws Exception {
        CheckpointSaved ev = CheckpointWatch.parseSaved(run("/data/out/my-run/", "150", "training", "jobs/", "tiny-llama").getBytes());
        assertEquals(CheckpointSaved.newBuilder().setBucket("training").setPrefix("jobs/my-run/checkpoint-150/").setRun("my-run")
                .setStep(150).setBase("tiny-llama").build(), ev);
        WatchedSources watched = WatchedSources.parse(java.util.List.of("training/jobs/"));
        assertTrue(watched.sourceOf(ev.getBucket(), ev.getPrefix()).isPresent(), "under the watched source");
        CheckpointSaved bare = CheckpointWatch.parseSaved(run("/data/out/other", "30", "training", "").getBytes());
        assertEquals("other/checkpoint-30/", bare.getPrefix());
        assertEquals("", bare.getBase());
    }
}
