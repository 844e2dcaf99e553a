package dev.entangle.ingest.core;

import dev.entangle.core.CheckpointException;
import dev.entangle.core.testing.DoraFixtures;
import dev.entangle.core.testing.Fixtures;
import dev.entangle.core.testing.TrainerOutput;
import dev.entangle.store.CheckpointManifest;
import dev.entangle.store.ForwardingStore;
import dev.entangle.store.InMemoryObjectStore;
import dev.entangle.store.Layout;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Checkpoint folders as HF Trainer and PEFT write them, with nothing else to go by. */
class HfTrainerIngestTest {

    @TempDir
    Path tmp;
    InMemoryObjectStore store;
    CheckpointIngester ingester;

    @BeforeEach
    void setUp() {
        store = new InMemoryObjectStore();
        ingester = new CheckpointIngester(store, tmp.resolve("spool"), List.of("q_proj", "v_proj"));
    }

    @Test
    void runStepAndLossesComeFromTheFolderAndTrainerState() throws IOException {
        Path ckpt = TrainerOutput.write(tmp.resolve("out/my-run"), "lora-r16-a16", 150, false);
        assertFalse(Files.exists(ckpt.resolve("trainer_event.json")));
        IngestOutcome o = ingester.ingest(ckpt, IngestRequest.of(null, null, null));
        CheckpointManifest m = o.manifest();
        assertEquals("my-run", m.run(), "the output folder names the run");
        assertEquals(150, m.step(), "global_step");
        double[] losses = TrainerOutput.losses("lora-r16-a16").get(150L);
        assertEquals(losses[0], m.metrics().trainLoss(), 0, "loss at step 150");
        assertEquals(losses[1], m.metrics().testLoss(), 0, "eval_loss at step 150");
        assertEquals(TrainerOutput.learningRate(150), m.hyper().learningRate(), 0, "learning_rate at step 150");
        assertEquals(16, m.hyper().r());
        // the pickles: said once, never stored
        assertEquals(1, o.notes().stream().filter(n -> n.contains("optimizer.pt")).count(), o.notes().toString());
        assertTrue(o.notes().getFirst().contains("rng_state.pth") && o.notes().getFirst().contains("scheduler.pt")
                && o.notes().getFirst().contains("training_args.bin"), o.notes().toString());
        for (byte[] obj : store.objects.values()) assertFalse(obj.length > 2 && obj[0] == (byte) 0x80 && obj[1] == 2 && obj[2] == 'c', "a pickle was stored");
        assertEquals(TrainerOutput.losses("lora-r16-a16").get(30L)[1],
                ingester.ingest(TrainerOutput.write(tmp.resolve("out/my-run"), "lora-r16-a16", 30, false), IngestRequest.of(null, null, null))
                        .manifest().metrics().testLoss(), 0, "step 30's eval_loss, not the last one logged");
    }

    @Test
    void whatTheCallerSaysWinsThenTrainerEventThenTrainerStateThenFolderNames() throws IOException {
        Path ckpt = TrainerOutput.write(tmp.resolve("out/named-run"), "lora-r4-a16", 30, false);
        // trainer_state.json's global_step beats the folder name
        Files.writeString(ckpt.resolve("trainer_state.json"), Files.readString(ckpt.resolve("trainer_state.json")).replace("\"global_step\" : 30", "\"global_step\" : 31"));
        TrainerReport r = TrainerReport.of(ckpt, CheckpointSource.ofPath(ckpt.toString()), IngestRequest.of(null, null, null), TrainerEvent.read(ckpt));
        assertEquals("named-run", r.run());
        assertEquals(31, r.step());
        // trainer_event.json beats trainer_state.json
        Files.writeString(ckpt.resolve("trainer_event.json"), "{\"run\":\"event-run\",\"step\":32,\"test_loss\":1.5}");
        r = TrainerReport.of(ckpt, CheckpointSource.ofPath(ckpt.toString()), IngestRequest.of(null, null, null), TrainerEvent.read(ckpt));
        assertEquals("event-run", r.run());
        assertEquals(32, r.step());
        assertEquals(1.5, r.testLoss());
        assertEquals(TrainerOutput.losses("lora-r4-a16").get(30L)[0], r.trainLoss(), 0, "fields the event leaves out still come from trainer_state.json");
        // the caller beats both
        r = TrainerReport.of(ckpt, CheckpointSource.ofPath(ckpt.toString()),
                new IngestRequest("flag-run", 33L, null, 0.5, null, 2.5, null, null), TrainerEvent.read(ckpt));
        assertEquals("flag-run", r.run());
        assertEquals(33, r.step());
        assertEquals(2.5, r.testLoss());
        assertEquals(0.5, r.learningRate());
        // a folder not named checkpoint-N is the output folder itself (HF's final save_model)
        Path fin = Files.createDirectories(tmp.resolve("out/final-run"));
        Files.copy(ckpt.resolve("trainer_state.json"), fin.resolve("trainer_state.json"));
        r = TrainerReport.of(fin, CheckpointSource.ofPath(fin.toString()), IngestRequest.of(null, null, null), TrainerEvent.read(fin));
        assertEquals("final-run", r.run());
        assertEquals(31, r.step());
    }

    @Test
    void withoutAnyReportTheRefusalsNameTheUsersFolder() throws IOException {
        Path ckpt = TrainerOutput.write(tmp.resolve("out/r"), "lora-r4-a16", 30, false);
        Files.delete(ckpt.resolve("trainer_state.json"));
        Path spool = Files.createDirectories(tmp.resolve("spool-copy/upload-123"));
        for (Path f : Files.list(ckpt).toList()) Files.copy(f, spool.resolve(f.getFileName()));
        // an upload whose client named no folder: no names to go by
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> ingester.ingest(spool, IngestRequest.of(null, null, null).withSource(CheckpointSource.unnamed("the upload"))));
        assertEquals("run unknown", e.rule());
        assertEquals("the upload: run unknown: give --run, a trainer_event.json with \"run\", or put the checkpoint-N folder inside a folder named after the run",
                e.getMessage());
        // the user's path, and a bad file named inside it
        CheckpointSource src = CheckpointSource.ofPath("/home/ada/out/my-run/checkpoint-30");
        assertEquals("my-run", ingester.ingest(spool, IngestRequest.of(null, null, null).withSource(src)).manifest().run());
        Files.write(spool.resolve("adapter_model.safetensors"), new byte[]{1, 2, 3});
        e = assertThrows(CheckpointException.class, () -> ingester.ingest(spool, IngestRequest.of("other", 1L, null).withSource(src)));
        assertTrue(e.getMessage().startsWith("/home/ada/out/my-run/checkpoint-30/adapter_model.safetensors: "), e.getMessage());
        assertFalse(e.getMessage().contains(spool.toString()), e.getMessage());
        CheckpointSource s3 = CheckpointSource.ofObjects("training", "jobs/my-run/checkpoint-30/", "jobs/");
        e = assertThrows(CheckpointException.class, () -> ingester.ingest(spool, IngestRequest.of("other", 1L, null).withSource(s3)));
        assertTrue(e.getMessage().startsWith("s3://training/jobs/my-run/checkpoint-30/adapter_model.safetensors: "), e.getMessage());
        Files.delete(spool.resolve("adapter_model.safetensors"));
        Files.writeString(spool.resolve("trainer_state.json"), "{\"global_step\": \"thirty\"}");
        e = assertThrows(CheckpointException.class, () -> ingester.ingest(spool, IngestRequest.of(null, null, null).withSource(s3)));
        assertEquals("s3://training/jobs/my-run/checkpoint-30/trainer_state.json: invalid global_step: expected a non-negative integer, got \"thirty\"",
                e.getMessage());
    }

    @Test
    void aDoraAdapterIngestsAgainstItsRegisteredBaseAndNotWithoutIt() throws IOException {
        Path dora = DoraFixtures.write(tmp.resolve("out/dora-run/checkpoint-150"), 5);
        assertEquals("missing base for DoRA", assertThrows(CheckpointException.class,
                () -> ingester.ingest(dora, IngestRequest.of(null, 150L, null))).rule());
        assertEquals("unknown base model", assertThrows(CheckpointException.class,
                () -> ingester.ingest(dora, IngestRequest.of(null, 150L, "tiny-llama"))).rule());
        ingester.registerBase(Fixtures.base(), "tiny-llama");
        IngestOutcome o = ingester.ingest(dora, IngestRequest.of(null, 150L, "tiny-llama"));
        assertEquals("dora", o.manifest().method());
        assertEquals("tiny-llama", o.manifest().baseId());
        assertEquals("dora-run", o.manifest().run());
        assertEquals(List.of("layers.0.q_proj", "layers.0.v_proj", "layers.1.q_proj", "layers.1.v_proj"), o.manifest().targets());
        assertEquals(12, o.manifest().tensors().size(), "A, B and m of four modules");
        assertTrue(o.manifest().tensors().keySet().stream().anyMatch(k -> k.endsWith("lora_magnitude_vector")));
    }

    @Test
    void twoIngestsOfOneCheckpointAtOnceCommitItOnce() throws IOException {
        Path ckpt = TrainerOutput.write(tmp.resolve("out/race-run"), "lora-r4-a16", 30, false);
        // another ingest of the same checkpoint commits its manifest between this one's check and its commit
        CheckpointIngester other = new CheckpointIngester(store, tmp.resolve("spool2"), List.of("q_proj", "v_proj"));
        boolean[] raced = {false};
        ForwardingStore racing = new ForwardingStore(store) {
            @Override
            public boolean putIfAbsent(String key, byte[] bytes, String contentType) throws IOException {
                if (!raced[0] && key.endsWith("manifest.json")) {
                    raced[0] = true;
                    assertEquals(IngestOutcome.State.NEW, other.ingest(ckpt, IngestRequest.of(null, null, null)).state());
                }
                return super.putIfAbsent(key, bytes, contentType);
            }
        };
        IngestOutcome mine = new CheckpointIngester(racing, tmp.resolve("spool3"), List.of("q_proj", "v_proj")).ingest(ckpt, IngestRequest.of(null, null, null));
        assertTrue(raced[0]);
        assertEquals(IngestOutcome.State.DUPLICATE, mine.state(), "the loser announces nothing");
        Map<String, CheckpointManifest.Blob> blobs = mine.manifest().tensors();
        for (CheckpointManifest.Blob b : blobs.values()) assertTrue(store.exists(b.key()), "the winner's blobs stay");
        assertEquals(1, new TreeSet<>(store.objects.keySet()).stream().filter(k -> k.startsWith("checkpoints/") && k.endsWith("manifest.json")).count());
        assertNull(store.objects.get(Layout.published(mine.manifest().id())), "nobody marked it published yet");
    }
}
