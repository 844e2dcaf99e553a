package dev.entangle.core.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.entangle.core.CheckpointException;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What of an HF Trainer checkpoint folder is read, and when a listing is a whole checkpoint. */
class CheckpointFilesTest {

    static final Path DIR = Path.of("/spool/ingest-1");
    static final List<String> TRAINER = List.of("trainer_state.json", "optimizer.pt", "scheduler.pt", "rng_state.pth",
            "training_args.bin", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "README.md");
    static final Function<String, JsonNode> NO_JSON = n -> { throw new AssertionError("no index to read"); };

    static List<String> with(String... names) {
        List<String> l = new java.util.ArrayList<>(TRAINER);
        l.addAll(List.of(names));
        return l;
    }

    @Test
    void picklesAreNeverNeededAndSaidSoOnce() {
        for (String p : List.of("optimizer.pt", "scheduler.pt", "rng_state.pth", "training_args.bin", "rng_state_3.pth", "scaler.pt")) {
            assertTrue(CheckpointFiles.isPickle(p), p);
            assertFalse(CheckpointFiles.needed(p), p);
        }
        for (String n : List.of("adapter_model.safetensors", "adapter_config.json", "config.json", "model.safetensors.index.json",
                "model-00001-of-00002.safetensors", "trainer_state.json", "trainer_event.json", "attention_probe.safetensors")) {
            assertTrue(CheckpointFiles.needed(n), n);
        }
        for (String n : List.of("tokenizer.json", "README.md", "generation_config.json", "runs/events.safetensors")) {
            assertFalse(CheckpointFiles.needed(n), n);
        }
        String note = CheckpointFiles.picklesNote(with("adapter_model.safetensors")).orElseThrow();
        assertTrue(note.startsWith("not opened, not stored: optimizer.pt, rng_state.pth, scheduler.pt, training_args.bin"), note);
        assertTrue(CheckpointFiles.picklesNote(List.of("adapter_config.json")).isEmpty());
    }

    @Test
    void aListingIsWholeOnceEveryFileItNeedsIsThere() throws Exception {
        assertEquals(List.of(), CheckpointFiles.missing(DIR, with("adapter_config.json", "adapter_model.safetensors"), NO_JSON));
        assertEquals(List.of("adapter_model.safetensors"), CheckpointFiles.missing(DIR, with("adapter_config.json"), NO_JSON));
        assertEquals(List.of("adapter_config.json"), CheckpointFiles.missing(DIR, with("adapter_model.safetensors"), NO_JSON));
        assertEquals(List.of(), CheckpointFiles.missing(DIR, with("config.json", "model.safetensors"), NO_JSON));
        JsonNode index = JsonMapper.builder().build().readTree("{\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\","
                + "\"b\":\"model-00002-of-00002.safetensors\",\"c\":\"model-00002-of-00002.safetensors\"}}");
        assertEquals(List.of("model-00002-of-00002.safetensors"), CheckpointFiles.missing(DIR,
                with("config.json", "model.safetensors.index.json", "model-00001-of-00002.safetensors"), n -> index));
        assertEquals(List.of(), CheckpointFiles.missing(DIR, with("config.json", "model.safetensors.index.json",
                "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"), n -> index));
        assertEquals(List.of("model.safetensors.index.json"), CheckpointFiles.missing(DIR,
                with("config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"), NO_JSON));
        // a marker with no weights at all
        List<String> none = CheckpointFiles.missing(DIR, TRAINER, NO_JSON);
        assertEquals(1, none.size());
        assertTrue(none.getFirst().contains("adapter_config.json") && none.getFirst().contains("config.json"), none.toString());
    }

    @Test
    void weightsOnlyAsPicklesAreRefusedNamingThePickle() {
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> CheckpointFiles.missing(DIR, with("adapter_config.json", "adapter_model.bin"), NO_JSON));
        assertEquals("pickle format refused", e.rule());
        assertEquals(DIR.resolve("adapter_model.bin"), e.file());
        assertEquals("pickle format refused", assertThrows(CheckpointException.class,
                () -> CheckpointFiles.missing(DIR, with("config.json", "pytorch_model.bin"), NO_JSON)).rule());
        // the trainer's own pickles beside safetensors weights are no reason to refuse
        assertEquals(List.of(), CheckpointFiles.missing(DIR, with("config.json", "model.safetensors", "pytorch_model.bin"), NO_JSON));
    }

    @Test
    void aRefusalIsToldWithTheUsersNameOfTheFolder() {
        CheckpointException e = new CheckpointException(DIR.resolve("adapter_model.safetensors"), "x.lora_A.weight", "truncated file",
                "the file at " + DIR + "/adapter_model.safetensors ends early");
        CheckpointException shown = e.shownAs(DIR, "s3://training/my-run/checkpoint-150");
        assertEquals("s3://training/my-run/checkpoint-150/adapter_model.safetensors:x.lora_A.weight: truncated file: "
                + "the file at s3://training/my-run/checkpoint-150/adapter_model.safetensors ends early", shown.getMessage());
        assertEquals("truncated file", shown.rule());
        assertEquals("/home/u/out/my-run/checkpoint-150: step unknown",
                new CheckpointException(DIR, null, "step unknown", null).shownAs(DIR, "/home/u/out/my-run/checkpoint-150").getMessage());
        assertEquals("/home/u/out/c: header missing: no header",
                new CheckpointException(null, null, "header missing", "no header").shownAs(DIR, "/home/u/out/c").getMessage());
        CheckpointException base = new CheckpointException(Path.of("bases/tiny/manifest.json"), null, "base of another architecture", "x");
        assertEquals(base.getMessage(), base.shownAs(DIR, "/home/u/c").getMessage(), "a file outside the folder stays");
    }
}
