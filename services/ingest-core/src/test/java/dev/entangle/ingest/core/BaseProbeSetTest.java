package dev.entangle.ingest.core;

import dev.entangle.core.CheckpointException;
import dev.entangle.core.model.ProbeTokens;
import dev.entangle.core.testing.Fixtures;
import dev.entangle.store.CheckpointManifest;
import dev.entangle.store.InMemoryObjectStore;
import dev.entangle.store.Layout;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A base registered whole with its probe sets, and the adapters that name it for their forward pass. */
class BaseProbeSetTest {

    @TempDir
    Path tmp;
    InMemoryObjectStore store;
    CheckpointIngester ingester;

    @BeforeEach
    void setUp() {
        store = new InMemoryObjectStore();
        ingester = new CheckpointIngester(store, tmp.resolve("spool"), List.of("q_proj", "v_proj"));
    }

    static List<Integer> ids(int t) {
        return IntStream.range(0, t).map(i -> (i * 37 + 11) % 256).boxed().toList();
    }

    @Test
    void aBaseKeepsEveryTensorAndEachProbeSetOnce() throws IOException {
        IngestOutcome first = ingester.registerBase(Fixtures.base(), "probed", ids(64));
        CheckpointManifest m = first.manifest();
        try (var ckpt = dev.entangle.core.checkpoint.Checkpoint.open(Fixtures.base())) {
            assertEquals(ckpt.tensors().names(), m.tensors().keySet(), "every tensor of the base, not only the target modules' W");
        }
        String set = ProbeTokens.setId(ids(64).stream().mapToInt(Integer::intValue).toArray());
        assertEquals(List.of(new CheckpointManifest.ProbeSet(set, ids(64))), m.probeSets());
        long blobs = store.objects.keySet().stream().filter(k -> k.startsWith("blobs/")).count();

        // the same set again: nothing changes; a second set joins the first, with no new blob
        assertEquals(IngestOutcome.State.DUPLICATE, ingester.registerBase(Fixtures.base(), "probed", ids(64)).state());
        IngestOutcome second = ingester.registerBase(Fixtures.base(), "probed", ids(128));
        assertEquals(2, second.manifest().probeSets().size());
        assertEquals(0, second.bytesStored());
        // another name for the same weights stores no tensor again (content-addressed)
        IngestOutcome other = ingester.registerBase(Fixtures.base(), "probed-again", List.of());
        assertEquals(0, other.bytesStored(), "a second base sharing every tensor stores nothing new");
        assertNull(other.manifest().probeSets());
        assertEquals(blobs, store.objects.keySet().stream().filter(k -> k.startsWith("blobs/")).count());
        CheckpointManifest stored = CheckpointManifest.fromJson(store.read(Layout.baseManifest("probed")).orElseThrow());
        assertEquals(2, stored.probeSets().size(), "the stored manifest holds both sets");
    }

    @Test
    void aProbeSetTheModelCannotRunIsRefusedNamingTheBaseAndTheRule() {
        List<Integer> outside = Stream.concat(ids(10).stream(), Stream.of(256)).toList();
        CheckpointException e = assertThrows(CheckpointException.class, () -> ingester.registerBase(Fixtures.base(), "probed", outside));
        assertTrue(e.getMessage().contains("token id outside the vocabulary") && e.getMessage().contains(Fixtures.base().toString()), e.getMessage());
        e = assertThrows(CheckpointException.class, () -> ingester.registerBase(Fixtures.base(), "probed", ids(1025)));
        assertTrue(e.getMessage().contains("max_position_embeddings"), e.getMessage());
        assertTrue(store.objects.isEmpty(), "nothing stored: " + store.objects.keySet());
    }

    @Test
    void anAdapterNamesItsBaseByFlagOrByBaseModelNameOrPath() throws IOException {
        ingester.registerBase(Fixtures.base(), "Llama-3.2-1B", ids(64));
        Path lora = Fixtures.root().resolve("runs/lora-r16-a16/checkpoint-150");
        assertEquals("Llama-3.2-1B", ingester.ingest(lora, IngestRequest.of("by-flag", 150L, "Llama-3.2-1B")).manifest().baseId());

        // base_model_name_or_path as PEFT writes it (a hub id): its last segment names the registered base
        Path named = copy(lora, tmp.resolve("named"));
        String cfg = Files.readString(named.resolve("adapter_config.json")).replace("\"base_model_name_or_path\": null",
                "\"base_model_name_or_path\": \"meta-llama/Llama-3.2-1B\"");
        Files.writeString(named.resolve("adapter_config.json"), cfg);
        assertEquals("Llama-3.2-1B", ingester.ingest(named, IngestRequest.of("by-config", 150L, null)).manifest().baseId());
        // nothing names a registered base: none
        assertNull(ingester.ingest(lora, IngestRequest.of("no-base", 150L, null)).manifest().baseId());
        CheckpointException e = assertThrows(CheckpointException.class, () -> ingester.ingest(lora, IngestRequest.of("bad-base", 150L, "nope")));
        assertTrue(e.getMessage().contains("unknown base model") && e.getMessage().contains(lora.toString()), e.getMessage());
    }

    static Path copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var s = Files.list(from)) {
            for (Path p : s.toList()) Files.copy(p, to.resolve(p.getFileName()));
        }
        return to;
    }
}
