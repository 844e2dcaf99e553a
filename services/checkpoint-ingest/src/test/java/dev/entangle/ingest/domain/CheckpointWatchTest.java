package dev.entangle.ingest.domain;

import dev.entangle.core.CheckpointException;
import dev.entangle.ingest.config.IngestConfig;
import dev.entangle.ingest.core.IngestRequest;
import dev.entangle.proto.ingest.v1.IngestResult;
import dev.entangle.security.AuthSettings;
import dev.entangle.security.TenantAccess;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The watch's decisions with the object store faked: which folder a marker registers, as whom
 * under tenancy, and how it waits for a folder's last files.
 */
class CheckpointWatchTest {

    /** A store whose listing lacks {@code missing.get(i)} at the i-th look, then nothing (no bean: the service test's CDI must not see it). */
    @jakarta.enterprise.inject.Vetoed
    static final class FakeFolders extends ObjectStoreFolders {
        final List<List<String>> missing = new ArrayList<>();
        final List<String> looks = new ArrayList<>();
        final List<IngestRequest> registered = new ArrayList<>();

        @Override
        public Listing list(String bucket, String prefix) {
            looks.add(bucket + "/" + prefix);
            return new Listing(bucket, prefix, List.of("trainer_state.json"));
        }

        @Override
        public List<String> missing(Listing l) {
            return missing.isEmpty() ? List.of() : missing.removeFirst();
        }

        @Override
        public IngestResult register(String bucket, String prefix, IngestRequest req, String baseModelName) {
            registered.add(req);
            return IngestResult.newBuilder().setState(IngestResult.State.NEW).setRun("r").setStep(1).build();
        }
    }

    static IngestConfig config(List<String> sources, Duration giveUp) {
        IngestConfig.Watch watch = new IngestConfig.Watch() {
            public Optional<List<String>> sources() { return Optional.of(sources); }
            public String marker() { return "trainer_state.json"; }
            public Duration firstBackoff() { return Duration.ofMillis(5); }
            public Duration maxBackoff() { return Duration.ofMillis(20); }
            public Duration giveUpAfter() { return giveUp; }
        };
        IngestConfig.Ingest ingest = new IngestConfig.Ingest() {
            public Path spoolDir() { return Path.of("/nonexistent"); }
            public List<String> fftModules() { return List.of("q_proj", "v_proj"); }
            public long maxUploadBytes() { return 1; }
            public IngestConfig.Watch watch() { return watch; }
        };
        return new IngestConfig() {
            public Ingest ingest() { return ingest; }
            public AuthSettings auth() { throw new UnsupportedOperationException(); }
        };
    }

    static CheckpointWatch watch(FakeFolders folders, boolean tenancy, Duration giveUp, String... sources) {
        CheckpointWatch w = new CheckpointWatch();
        w.folders = folders;
        w.config = config(List.of(sources), giveUp);
        w.tenancy = new TenantAccess() {
            @Override
            public boolean enabled() { return tenancy; }
        };
        w.registry = new SimpleMeterRegistry();
        w.init();
        return w;
    }

    static byte[] notification(String bucket, String key) {
        return ("{\"Records\":[{\"eventName\":\"s3:ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"" + bucket + "\"},\"object\":{\"key\":\""
                + java.net.URLEncoder.encode(key, StandardCharsets.UTF_8) + "\"}}}]}").getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aMarkerRegistersItsFolderOnceItIsWholeAndOtherFilesDoNothing() throws Exception {
        FakeFolders f = new FakeFolders();
        CheckpointWatch w = watch(f, false, Duration.ofSeconds(5), "training/jobs/;base=tiny-llama");
        w.onNotification(notification("training", "jobs/my-run/checkpoint-150/adapter_model.safetensors"));
        assertTrue(f.looks.isEmpty() && f.registered.isEmpty(), "not the marker: nothing read");
        f.missing.add(List.of("model-00002-of-00002.safetensors"));
        f.missing.add(List.of("model-00002-of-00002.safetensors"));
        w.onNotification(notification("training", "jobs/my-run/checkpoint-150/trainer_state.json"));
        assertEquals(3, f.looks.size(), "looked again until the shard was there: " + f.looks);
        assertEquals(1, f.registered.size());
        IngestRequest req = f.registered.getFirst();
        assertEquals("s3://training/jobs/my-run/checkpoint-150", req.source().shownAs());
        assertEquals("my-run", req.source().outputFolder());
        assertEquals("tiny-llama", req.baseId(), "the source's base");
        assertEquals(null, req.tenant());
        assertEquals(null, req.run(), "from the files and names");
    }

    @Test
    void aFolderThatStaysIncompleteIsGivenUpWithWhatItLacks() {
        FakeFolders f = new FakeFolders();
        CheckpointWatch w = watch(f, false, Duration.ofMillis(60), "training");
        for (int i = 0; i < 100; i++) f.missing.add(List.of("adapter_model.safetensors"));
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> w.onNotification(notification("training", "r/checkpoint-5/trainer_state.json")));
        assertEquals("checkpoint incomplete", e.rule());
        assertTrue(e.getMessage().startsWith("s3://training/r/checkpoint-5: checkpoint incomplete: "), e.getMessage());
        assertTrue(e.getMessage().contains("still lacks adapter_model.safetensors"), e.getMessage());
        assertTrue(f.registered.isEmpty());
    }

    @Test
    void underTenancyTheSourceNamesTheOwnerAndAnUnmappedOneIsRefused() throws Exception {
        FakeFolders f = new FakeFolders();
        CheckpointWatch w = watch(f, true, Duration.ofSeconds(5), "training/acme/;tenant=acme", "training/open/");
        w.onNotification(notification("training", "acme/run-a/checkpoint-1/trainer_state.json"));
        assertEquals("acme", f.registered.getFirst().tenant());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> w.onNotification(notification("training", "open/run-b/checkpoint-1/trainer_state.json")));
        assertTrue(e.getMessage().contains("unmapped") && e.getMessage().contains("s3://training/open/"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> w.onCheckpointSaved(
                "{\"bucket\":\"training\",\"prefix\":\"open/run-c/checkpoint-2\"}".getBytes(StandardCharsets.UTF_8)));
        assertTrue(e.getMessage().contains("unmapped"), e.getMessage());
        assertEquals(1, f.registered.size(), "nothing registered for an unmapped source");
        assertTrue(f.looks.size() == 1, "an unmapped event reads nothing: " + f.looks);
    }

    @Test
    void aCheckpointEventsFieldsWinAndItsFolderMustBeWatched() throws Exception {
        FakeFolders f = new FakeFolders();
        CheckpointWatch w = watch(f, false, Duration.ofSeconds(5), "training/jobs/;base=tiny-llama");
        w.onCheckpointSaved(("{\"bucket\":\"training\",\"prefix\":\"jobs/x/checkpoint-7\",\"run\":\"named\",\"step\":7,\"base\":\"other-base\","
                + "\"testLoss\":2.5}").getBytes(StandardCharsets.UTF_8));
        IngestRequest req = f.registered.getFirst();
        assertEquals("named", req.run());
        assertEquals(7L, req.step());
        assertEquals("other-base", req.baseId());
        assertEquals(2.5, req.testLoss());
        assertEquals("training/jobs/x/checkpoint-7/", f.looks.getFirst(), "the prefix as a folder");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> w.onCheckpointSaved("{\"bucket\":\"training\"}".getBytes(StandardCharsets.UTF_8)))
                .getMessage().contains("needs bucket and prefix"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> w.onCheckpointSaved(
                "{\"bucket\":\"other\",\"prefix\":\"jobs/x/\"}".getBytes(StandardCharsets.UTF_8))).getMessage().contains("unknown bucket 'other'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> w.onCheckpointSaved(
                "{\"bucket\":\"training\",\"prefix\":\"x/\",\"run\":\"../etc\"}".getBytes(StandardCharsets.UTF_8))).getMessage().contains("is under no watched prefix"));
    }
}
