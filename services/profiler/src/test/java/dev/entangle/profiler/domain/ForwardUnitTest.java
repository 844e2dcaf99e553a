package dev.entangle.profiler.domain;

import com.fasterxml.jackson.databind.JsonNode;
import dev.entangle.core.model.ProbeTokens;
import dev.entangle.core.profile.ProbeInput;
import dev.entangle.core.profile.ProfileCalculator;
import dev.entangle.core.testing.Fixtures;
import dev.entangle.ingest.core.CheckpointIngester;
import dev.entangle.ingest.core.IngestRequest;
import dev.entangle.proto.events.v1.AnalysisSettings;
import dev.entangle.proto.events.v1.CheckpointIngested;
import dev.entangle.proto.events.v1.Profile;
import dev.entangle.proto.events.v1.ProfileComputed;
import dev.entangle.proto.events.v1.ProfileTask;
import dev.entangle.proto.events.v1.UnitKind;
import dev.entangle.store.CheckpointManifest;
import dev.entangle.store.ForwardingStore;
import dev.entangle.store.InMemoryObjectStore;
import dev.entangle.store.Layout;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A LoRA checkpoint without a probe, on a base registered with a probe set: a forward unit, then
 * attention and XXᵀ units on its captures, whose profiles equal the oracle's (made from
 * transformers' own captures, ≤ 1e-4 nats); made once, and a pass that dies leaves no record.
 */
class ForwardUnitTest {

    static final String BASE = "tiny-llama-probed";
    static final AnalysisSettings EXACT = AnalysisSettings.newBuilder().addRenyi(2).build();

    @TempDir
    static Path tmp;
    static InMemoryObjectStore store;
    static CheckpointIngester ingester;
    static Path lora;
    static String setId;

    @BeforeAll
    static void ingest() throws IOException {
        store = new InMemoryObjectStore();
        ingester = new CheckpointIngester(store, tmp.resolve("spool"), List.of("q_proj", "v_proj"));
        Path fixture = Fixtures.root().resolve("runs/lora-r16-a16/checkpoint-150");
        ProbeTokens ids = ProbeInput.read(fixture.resolve("attention_probe.safetensors"));
        setId = ids.setId();
        ingester.registerBase(Fixtures.base(), BASE, Arrays.stream(ids.ids()).boxed().toList());
        lora = tmp.resolve("lora-no-probe");
        Files.createDirectories(lora);
        for (String f : List.of("adapter_config.json", "adapter_model.safetensors")) Files.copy(fixture.resolve(f), lora.resolve(f));
    }

    static CheckpointIngested event(CheckpointManifest m) {
        return CheckpointIngested.newBuilder().setCheckpointId(m.id()).setRun(m.run()).setStep(m.step()).setBucket("entangle")
                .setManifestKey(Layout.checkpointManifest(m.id())).addAllTargets(m.targets()).setHasProbe(m.probe() != null)
                .setBaseId(m.baseId()).build();
    }

    static UnitWorker worker(dev.entangle.store.ObjectStore s, String cache) {
        return new UnitWorker(s, new StoredCheckpoints(s, BlobTensorSource.onDisk(s, tmp.resolve(cache))), ProfileCalculator.fromEnvironment(),
                tmp.resolve("scratch-" + cache));
    }

    @Test
    void attentionFromTheForwardPassEqualsTheOracle() throws IOException {
        CheckpointManifest m = ingester.ingest(lora, IngestRequest.of("fwd-lora", 150L, BASE)).manifest();
        assertEquals(BASE, m.baseId(), "the adapter names its base");
        List<ProfileTask> tasks = UnitPlanner.plan(event(m), 0, EXACT, true, setId, 2);
        List<UnitKind> kinds = tasks.stream().map(ProfileTask::getKind).toList();
        assertEquals(List.of(UnitKind.DELTA, UnitKind.DELTA, UnitKind.DELTA, UnitKind.DELTA, UnitKind.FORWARD,
                UnitKind.ATTENTION, UnitKind.ATTENTION, UnitKind.OUTPUT, UnitKind.OUTPUT), kinds);
        assertTrue(tasks.stream().filter(t -> t.getKind() != UnitKind.DELTA).allMatch(t -> t.getProbeSet().equals(setId)));

        // an attention unit that comes first makes the forward pass itself; the forward unit then finds it made
        UnitWorker worker = worker(store, "cache-a");
        List<ProfileTask> order = new ArrayList<>(tasks);
        order.add(0, order.remove(kinds.indexOf(UnitKind.ATTENTION)));
        JsonNode oracle = Fixtures.oracle(Fixtures.root().resolve("runs/lora-r16-a16/checkpoint-150"));
        int heads = 0, outputs = 0;
        long recordsBefore = -1;
        java.util.Set<String> before = null;
        for (ProfileTask t : order) {
            ProfileComputed r = worker.compute(t);
            if (t.getKind() == UnitKind.DELTA) continue;
            assertEquals(setId, r.getProbeSet(), t.getTarget());
            assertEquals(256, r.getProbeTokens(), t.getTarget());
            if (t.getKind() == UnitKind.FORWARD) {
                assertEquals(0, r.getProfilesCount(), "the forward unit has no profile of its own");
                continue;
            }
            if (recordsBefore < 0) {
                recordsBefore = forwardObjects();
                before = new java.util.TreeSet<>(store.objects.keySet());
            }
            for (Profile p : r.getProfilesList()) {
                JsonNode o = (t.getKind() == UnitKind.ATTENTION ? oracle.get("attention") : oracle.get("outputs")).get(p.getName());
                assertEquals(o.get("profile").size(), p.getCutsCount(), p.getName());
                for (int i = 0; i < p.getCutsCount(); i++) {
                    assertEquals(o.get("profile").get(i).get("S").doubleValue(), p.getCuts(i).getEntropy(), 1e-4, p.getName() + " cut " + (i + 1));
                    assertEquals(o.get("profile").get(i).get("S2").doubleValue(), p.getCuts(i).getRenyiOrThrow("S2"), 1e-4, p.getName() + " S2");
                }
                if (t.getKind() == UnitKind.ATTENTION) heads++;
                else outputs++;
            }
        }
        assertEquals(oracle.get("attention").size(), heads, "every head of both layers");
        assertEquals(2, outputs);
        java.util.Set<String> added = new java.util.TreeSet<>(store.objects.keySet());
        added.removeAll(before);
        assertEquals(recordsBefore, forwardObjects(), "one forward pass made and stored, reused by every later unit: " + added);
        assertTrue(store.exists(Layout.forwardProbe(m.id(), setId)));
    }

    @Test
    void aForwardPassThatDiesLeavesNoRecordAndTheRetryCompletesIt() throws IOException {
        InMemoryObjectStore fresh = new InMemoryObjectStore();
        CheckpointIngester in = new CheckpointIngester(fresh, tmp.resolve("spool-b"), List.of("q_proj", "v_proj"));
        Path fixture = Fixtures.root().resolve("runs/lora-r16-a16/checkpoint-150");
        in.registerBase(Fixtures.base(), BASE, Arrays.stream(ProbeInput.read(fixture.resolve("attention_probe.safetensors")).ids()).boxed().toList());
        CheckpointManifest m = in.ingest(lora, IngestRequest.of("fwd-dies", 150L, BASE)).manifest();
        AtomicBoolean dead = new AtomicBoolean(true);
        ForwardingStore dying = new ForwardingStore(fresh) {
            @Override
            public boolean putIfAbsent(String key, byte[] bytes, String contentType) throws IOException {
                if (dead.get() && key.contains("/forward/")) throw new IOException("the profiler died before the record was written");
                return super.putIfAbsent(key, bytes, contentType);
            }
        };
        ProfileTask forward = UnitPlanner.plan(event(m), 0, EXACT, true, setId, 2).stream()
                .filter(t -> t.getKind() == UnitKind.FORWARD).findFirst().orElseThrow();
        assertThrows(IOException.class, () -> worker(dying, "cache-b").compute(forward));
        assertFalse(fresh.exists(Layout.forwardProbe(m.id(), setId)), "no record of a pass that did not finish");
        dead.set(false);
        ProfileComputed r = worker(dying, "cache-c").compute(forward);
        assertEquals(256, r.getProbeTokens());
        assertTrue(fresh.exists(Layout.forwardProbe(m.id(), setId)));
    }

    @Test
    void aProbeSetTheBaseDoesNotHaveIsBadInput() throws IOException {
        CheckpointManifest m = ingester.ingest(lora, IngestRequest.of("fwd-unknown-set", 150L, BASE)).manifest();
        ProfileTask forward = UnitPlanner.plan(event(m), 0, EXACT, true, "tokens-0000000000000000", 2).stream()
                .filter(t -> t.getKind() == UnitKind.FORWARD).findFirst().orElseThrow();
        var e = assertThrows(dev.entangle.core.CheckpointException.class, () -> worker(store, "cache-d").compute(forward));
        assertTrue(e.getMessage().contains("unknown probe set") && e.getMessage().contains(BASE), e.getMessage());
    }

    @Test
    void aFullFineTuningCheckpointRunsOnItsOwnStoredWeights() throws IOException {
        Path fixture = Fixtures.root().resolve("runs/fft-lr1e-4/checkpoint-150");
        Path fft = tmp.resolve("fft-no-probe");
        Files.createDirectories(fft);
        for (String f : List.of("config.json", "model.safetensors")) Files.copy(fixture.resolve(f), fft.resolve(f));
        CheckpointManifest m = ingester.ingest(fft, IngestRequest.of("fwd-fft", 150L, BASE)).manifest();
        assertTrue(m.tensors().keySet().stream().anyMatch(n -> n.contains("embed_tokens")), "the forward pass's weights are kept: " + m.tensors().keySet());
        assertFalse(m.tensors().keySet().stream().anyMatch(n -> n.contains("layers.1.mlp")), "nothing past the last attention: " + m.tensors().keySet());
        JsonNode oracle = Fixtures.oracle(fixture);
        UnitWorker worker = worker(store, "cache-e");
        int heads = 0;
        for (ProfileTask t : UnitPlanner.plan(event(m), 0, EXACT, true, setId, 2)) {
            ProfileComputed r = worker.compute(t);
            if (t.getKind() != UnitKind.ATTENTION) continue;
            for (Profile p : r.getProfilesList()) {
                JsonNode o = oracle.get("attention").get(p.getName()).get("profile");
                for (int i = 0; i < p.getCutsCount(); i++) assertEquals(o.get(i).get("S").doubleValue(), p.getCuts(i).getEntropy(), 1e-4, p.getName());
                heads++;
            }
        }
        assertEquals(oracle.get("attention").size(), heads);
    }

    static long forwardObjects() {
        return store.objects.keySet().stream().filter(k -> (k.startsWith("checkpoints/") && k.contains("/forward/")) || k.startsWith("blobs/")).count();
    }
}
