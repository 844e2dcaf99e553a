package dev.entangle.core.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.checkpoint.CheckpointKind;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** The tiny-llama fixture checkpoints shipped in examples/ (HF transformers + peft, with a float64 oracle). */
public final class Fixtures {

    private Fixtures() {}

    /** examples/tiny-llama, found from the module's working directory upwards. */
    public static Path root() {
        Path p = Path.of("").toAbsolutePath();
        for (Path q = p; q != null; q = q.getParent()) {
            Path cand = q.resolve("examples/tiny-llama");
            if (Files.isDirectory(cand)) return cand;
        }
        throw new IllegalStateException("examples/tiny-llama not found above " + p);
    }

    public static Path base() { return root().resolve("base"); }

    /** Every runs/RUN/checkpoint-STEP folder, sorted. */
    public static List<Path> checkpoints() {
        try (Stream<Path> runs = Files.list(root().resolve("runs"))) {
            return runs.filter(Files::isDirectory).sorted().flatMap(r -> {
                try (Stream<Path> c = Files.list(r)) {
                    return c.filter(x -> x.getFileName().toString().startsWith("checkpoint-")).sorted().toList().stream();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Whether a fixture checkpoint is a full model (fine-tuned fully: its ΔW needs the base), by its files. */
    public static boolean isFullModel(Path checkpoint) {
        try (Checkpoint c = Checkpoint.open(checkpoint)) {
            return c.kind() == CheckpointKind.FULL_MODEL;
        }
    }

    public static JsonNode oracle(Path checkpoint) {
        try {
            return JsonMapper.builder().build().readTree(checkpoint.resolve("oracle_profiles.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static String label(Path checkpoint) {
        return checkpoint.getParent().getFileName() + "/" + checkpoint.getFileName();
    }
}
