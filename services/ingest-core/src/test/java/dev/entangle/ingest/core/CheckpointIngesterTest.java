package dev.entangle.ingest.core;

import dev.entangle.store.ObjectStore;
import dev.entangle.store.CheckpointManifest;
import dev.entangle.store.Layout;
import dev.entangle.store.ForwardingStore;
import dev.entangle.store.InMemoryObjectStore;
import dev.entangle.core.CheckpointException;
import dev.entangle.core.testing.Fixtures;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointIngesterTest {

    @TempDir
    Path tmp;
    InMemoryObjectStore store;
    CheckpointIngester ingester;

    static Path examples() {
        return Fixtures.root();
    }

    @BeforeEach
    void setUp() {
        store = new InMemoryObjectStore();
        ingester = new CheckpointIngester(store, tmp.resolve("spool"), List.of("q_proj", "v_proj"));
    }

    @Test
    void underTenancyARunBelongsToTheTenantThatCreatedIt() throws IOException {
        Path lora = Fixtures.root().resolve("runs/lora-r4-a16/checkpoint-30");
        Path later = Fixtures.root().resolve("runs/lora-r4-a16/checkpoint-150");
        IngestOutcome first = ingester.ingest(lora, IngestRequest.of("shared-run", 30L, null).withTenant("acme"));
        assertEquals(IngestOutcome.State.NEW, first.state());
        assertEquals("acme", first.manifest().tenant());
        assertEquals("acme", new String(store.read(Layout.runOwner("shared-run")).orElseThrow()));

        var before = new java.util.TreeMap<>(store.objects);
        RunOwnershipException e = assertThrows(RunOwnershipException.class,
                () -> ingester.ingest(later, IngestRequest.of("shared-run", 150L, null).withTenant("globex")));
        assertTrue(e.getMessage().contains("shared-run") && e.getMessage().contains("globex"), e.getMessage());
        assertEquals(before.keySet(), store.objects.keySet(), "nothing stored for the refused tenant");

        assertEquals(IngestOutcome.State.NEW, ingester.ingest(later, IngestRequest.of("shared-run", 150L, null).withTenant("acme")).state());
        assertEquals("acme", new String(store.read(Layout.runOwner("shared-run")).orElseThrow()));
        // tenancy off: no owner recorded; such a run is nobody's to take once tenancy is on
        assertTrue(ingester.ingest(lora, IngestRequest.of("open-run", 30L, null)).manifest().tenant() == null);
        assertFalse(store.exists(Layout.runOwner("open-run")));
        RunOwnershipException unowned = assertThrows(RunOwnershipException.class,
                () -> ingester.ingest(later, IngestRequest.of("open-run", 150L, null).withTenant("acme")));
        assertTrue(unowned.getMessage().contains("tenancy was off"), unowned.getMessage());
        assertFalse(store.exists(Layout.runOwner("open-run")));
    }

    @Test
    void aRunClaimedMeanwhileByAnotherTenantIsRefusedAtCommit() throws IOException {
        Path lora = Fixtures.root().resolve("runs/lora-r4-a16/checkpoint-30");
        // another ingest claims the run between this one's first check and its commit
        ObjectStore racing = new ForwardingStore(store) {
            @Override
            public boolean putIfAbsent(String key, byte[] bytes, String contentType) throws IOException {
                store.putIfAbsent(Layout.runOwner("raced-run"), "globex".getBytes(), "text/plain");
                return super.putIfAbsent(key, bytes, contentType);
            }
        };
        CheckpointIngester raced = new CheckpointIngester(racing, tmp.resolve("spool2"), List.of("q_proj", "v_proj"));
        var before = new java.util.TreeMap<>(store.objects);
        assertThrows(RunOwnershipException.class, () -> raced.ingest(lora, IngestRequest.of("raced-run", 30L, null).withTenant("acme")));
        before.put(Layout.runOwner("raced-run"), null);
        assertEquals(before.keySet(), store.objects.keySet(), "only globex's claim: no blob, manifest or index of acme's");
        assertEquals("globex", new String(store.read(Layout.runOwner("raced-run")).orElseThrow()));
    }

    @Test
    void everyFixtureCheckpointIngestsOnceAndOnlyOnce() throws IOException {
        assertEquals(IngestOutcome.State.NEW, ingester.registerBase(examples().resolve("base"), "tiny-llama").state());
        assertEquals(IngestOutcome.State.DUPLICATE, ingester.registerBase(examples().resolve("base"), "tiny-llama").state());
        for (Path ckpt : Fixtures.checkpoints()) {
            String base = Fixtures.isFullModel(ckpt) ? "tiny-llama" : null;
            IngestOutcome first = ingester.ingest(ckpt, IngestRequest.of(null, null, base));
            assertEquals(IngestOutcome.State.NEW, first.state(), ckpt.toString());
            CheckpointManifest m = first.manifest();
            assertEquals(ckpt.getParent().getFileName().toString(), m.run());
            assertEquals(Long.parseLong(ckpt.getFileName().toString().substring("checkpoint-".length())), m.step());
            assertEquals(List.of("layers.0.q_proj", "layers.0.v_proj", "layers.1.q_proj", "layers.1.v_proj"), m.targets());
            assertTrue(m.probe() != null && store.exists(m.probe().key()));
            assertEquals(2, m.probeLayers());
            m.tensors().values().forEach(b -> assertTrue(store.exists(b.key()), b.key()));
            assertTrue(m.metrics().testLoss() > 0);
            // Re-ingest before the event was acknowledged: same id, publish again; after: a no-op.
            IngestOutcome again = ingester.ingest(ckpt, IngestRequest.of(null, null, base));
            assertEquals(IngestOutcome.State.UNPUBLISHED, again.state());
            assertEquals(m.id(), again.manifest().id());
            ingester.markPublished(m.id());
            IngestOutcome third = ingester.ingest(ckpt, IngestRequest.of(null, null, base));
            assertEquals(IngestOutcome.State.DUPLICATE, third.state());
            assertEquals(0, third.bytesStored());
        }
        // Only what analysis needs: no full FFT model, no README, no oracle.
        assertTrue(store.objects.keySet().stream().noneMatch(k -> k.endsWith(".md") || k.contains("oracle")));
        try (Stream<Path> files = Files.list(tmp.resolve("spool"))) {
            assertEquals(0, files.count(), "spool cleaned up");
        }
    }

    @Test
    void corruptFileIsRejectedAndLeavesNothing() throws IOException {
        Path src = examples().resolve("runs/lora-r16-a16/checkpoint-30");
        Path bad = Files.createDirectories(tmp.resolve("bad/checkpoint-30"));
        for (String f : List.of("adapter_config.json", "trainer_event.json", "attention_probe.safetensors")) Files.copy(src.resolve(f), bad.resolve(f));
        byte[] all = Files.readAllBytes(src.resolve("adapter_model.safetensors"));
        Files.write(bad.resolve("adapter_model.safetensors"), java.util.Arrays.copyOf(all, all.length - 10));
        CheckpointException e = assertThrows(CheckpointException.class, () -> ingester.ingest(bad, IngestRequest.of(null, null, null)));
        assertEquals("truncated file", e.rule());
        assertTrue(store.objects.isEmpty(), store.objects.keySet().toString());
    }

    @Test
    void fftNeedsARegisteredBase() {
        Path fft = examples().resolve("runs/fft-lr1e-4/checkpoint-30");
        assertEquals("missing base for FFT", assertThrows(CheckpointException.class,
                () -> ingester.ingest(fft, IngestRequest.of(null, null, null))).rule());
        assertEquals("unknown base model", assertThrows(CheckpointException.class,
                () -> ingester.ingest(fft, IngestRequest.of(null, null, "nope"))).rule());
        assertTrue(store.objects.isEmpty());
    }

    @Test
    void aStepCannotChangeContent() throws IOException {
        ingester.ingest(examples().resolve("runs/lora-r4-a16/checkpoint-30"), IngestRequest.of("run-a", 30L, null));
        int before = store.objects.size();
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> ingester.ingest(examples().resolve("runs/lora-r4-a16/checkpoint-150"), IngestRequest.of("run-a", 30L, null)));
        assertEquals("run step already ingested", e.rule());
        assertEquals(before, store.objects.size());
    }

    @Test
    void failedUploadRemovesWhatItWrote() throws IOException {
        store.failOnPut = 3; // the third object written fails
        assertThrows(IOException.class,
                () -> ingester.ingest(examples().resolve("runs/mps-r8-chi8-a16/checkpoint-1"), IngestRequest.of(null, null, null)));
        assertTrue(store.objects.isEmpty(), store.objects.keySet().toString());
        store.failOnPut = -1;
        IngestOutcome ok = ingester.ingest(examples().resolve("runs/mps-r8-chi8-a16/checkpoint-1"), IngestRequest.of(null, null, null));
        assertEquals(IngestOutcome.State.NEW, ok.state());
        assertTrue(store.exists(Layout.runStep("mps-r8-chi8-a16", 1)));
        assertFalse(store.exists(Layout.published(ok.manifest().id())));
    }

    @Test
    void refusesUnsafeRunNames() {
        assertThrows(IllegalArgumentException.class,
                () -> ingester.ingest(examples().resolve("runs/lora-r4-a16/checkpoint-1"), IngestRequest.of("../etc", 1L, null)));
    }
}
