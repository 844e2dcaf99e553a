package dev.entangle.profiler.domain;

import dev.entangle.core.profile.Extra;
import com.fasterxml.jackson.databind.JsonNode;
import dev.entangle.core.profile.ProfileCalculator;
import dev.entangle.core.testing.Fixtures;
import dev.entangle.ingest.core.CheckpointIngester;
import dev.entangle.ingest.core.IngestOutcome;
import dev.entangle.ingest.core.IngestRequest;
import dev.entangle.proto.events.v1.AnalysisSettings;
import dev.entangle.proto.events.v1.CheckpointIngested;
import dev.entangle.proto.events.v1.CutProfile;
import dev.entangle.proto.events.v1.Profile;
import dev.entangle.proto.events.v1.ProfileComputed;
import dev.entangle.proto.events.v1.ProfileTask;
import dev.entangle.proto.events.v1.UnitKind;
import dev.entangle.store.CheckpointManifest;
import dev.entangle.store.InMemoryObjectStore;
import dev.entangle.store.Layout;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Units computed from what ingest stored equal the oracle (same tolerance as the core: 1e-6 nats for ΔW). */
class UnitWorkerTest {

    @TempDir
    static Path tmp;
    static InMemoryObjectStore store;
    static UnitWorker worker;
    static final AnalysisSettings EXACT = AnalysisSettings.newBuilder().addRenyi(2).build();

    @BeforeAll
    static void ingestFixtures() throws IOException {
        store = new InMemoryObjectStore();
        CheckpointIngester ingester = new CheckpointIngester(store, tmp.resolve("spool"), List.of("q_proj", "v_proj"));
        ingester.registerBase(Fixtures.base(), "tiny-llama");
        for (Path c : Fixtures.checkpoints()) {
            ingester.ingest(c, IngestRequest.of(null, null, Fixtures.isFullModel(c) ? "tiny-llama" : null));
        }
        StoredCheckpoints checkpoints = new StoredCheckpoints(store, BlobTensorSource.onDisk(store, tmp.resolve("cache")));
        worker = new UnitWorker(store, checkpoints, ProfileCalculator.fromEnvironment(), tmp.resolve("scratch"));
    }

    static CheckpointIngested event(Path ckpt) throws IOException {
        String run = ckpt.getParent().getFileName().toString();
        long step = Long.parseLong(ckpt.getFileName().toString().substring("checkpoint-".length()));
        String id = new String(store.read(Layout.runStep(run, step)).orElseThrow());
        CheckpointManifest m = CheckpointManifest.fromJson(store.read(Layout.checkpointManifest(id)).orElseThrow());
        return CheckpointIngested.newBuilder().setCheckpointId(id).setRun(run).setStep(step).setBucket("entangle")
                .setManifestKey(Layout.checkpointManifest(id)).addAllTargets(m.targets()).setHasProbe(m.probe() != null).build();
    }

    @TestFactory
    Stream<DynamicTest> deltaUnitsMatchOracle() {
        return Fixtures.checkpoints().stream().map(ckpt -> DynamicTest.dynamicTest(Fixtures.label(ckpt), () -> {
            JsonNode oracle = Fixtures.oracle(ckpt).get("deltas");
            List<ProfileTask> tasks = UnitPlanner.plan(event(ckpt), 2, EXACT, false);
            assertEquals(4, tasks.size());
            for (ProfileTask t : tasks) {
                assertEquals(UnitKind.DELTA, t.getKind());
                ProfileComputed r = worker.compute(t);
                Profile p = r.getProfiles(0);
                assertEquals(t.getTarget(), p.getName());
                JsonNode o = oracle.get(p.getName());
                assertEquals(o.get("profile").size(), p.getCutsCount());
                for (int i = 0; i < p.getCutsCount(); i++) {
                    CutProfile c = p.getCuts(i);
                    assertEquals(o.get("profile").get(i).get("S").doubleValue(), c.getEntropy(), 1e-6, p.getName() + " cut " + c.getCut());
                    assertEquals(o.get("profile").get(i).get("S2").doubleValue(), c.getRenyiOrThrow("S2"), 1e-6);
                }
                // the result is kept under its key: (checkpoint, target, settings)
                assertTrue(store.exists(Layout.profile(t.getCheckpointId(), t.getTarget(), "exact_renyi-2", "result.pb")));
            }
        }));
    }

    @Test
    void redeliveredTaskGivesTheSameResultAndSpectraAreStored() throws IOException {
        Path ckpt = Fixtures.root().resolve("runs/lora-r16-a16/checkpoint-150");
        AnalysisSettings s = AnalysisSettings.newBuilder().addRenyi(2).addRenyi(3).setChiMax(16).setSpectra(true).build();
        ProfileTask t = UnitPlanner.plan(event(ckpt), 2, s, false).get(0);
        ProfileComputed a = worker.compute(t);
        ProfileComputed b = worker.compute(t);
        assertEquals("chi16_renyi-2-3_spectra", a.getSettingsKey());
        assertEquals(a.getProfiles(0), b.getProfiles(0));
        assertTrue(store.exists(a.getSpectraKey()));
        for (CutProfile c : a.getProfiles(0).getCutsList()) assertTrue(c.getEntropy() <= Math.log(16) + 1e-9);
        assertArrayEquals(new Object[]{16.0, Math.log(16)},
                new Object[]{a.getProfiles(0).getExtrasOrThrow(Extra.RANK.key()), a.getProfiles(0).getExtrasOrThrow(Extra.LN_R.key())});
    }

    /** Attention (every head; rebuilt or captured) and XXᵀ units from the stored probe equal the oracle. */
    @TestFactory
    Stream<DynamicTest> attentionAndOutputUnitsMatchOracle() {
        return Stream.of("lora-r16-a16/checkpoint-150", "fft-lr1e-4/checkpoint-30", "mps-r8-chi8-a16/checkpoint-1").map(name -> DynamicTest.dynamicTest(name, () -> {
            Path ckpt = Fixtures.root().resolve("runs/" + name);
            JsonNode oracle = Fixtures.oracle(ckpt);
            List<ProfileTask> tasks = UnitPlanner.plan(event(ckpt), 2, EXACT, true);
            assertEquals(4 + 2 + 2, tasks.size(), "4 ΔW, 2 attention layers, 2 output operators");
            int heads = 0;
            for (ProfileTask t : tasks) {
                if (t.getKind() == UnitKind.DELTA) continue;
                ProfileComputed r = worker.compute(t);
                for (Profile p : r.getProfilesList()) {
                    JsonNode o = oracle.get(t.getKind() == UnitKind.OUTPUT ? "outputs" : "attention").get(p.getName());
                    double tol = t.getKind() == UnitKind.OUTPUT || p.getExtrasOrThrow(Extra.CAPTURED.key()) == 1.0 ? 1e-6 : 1e-4;
                    for (int i = 0; i < p.getCutsCount(); i++) {
                        assertEquals(o.get("profile").get(i).get("S").doubleValue(), p.getCuts(i).getEntropy(), tol, p.getName() + " cut " + (i + 1));
                    }
                    if (t.getKind() == UnitKind.ATTENTION) heads++;
                    else assertTrue(p.getExtrasOrThrow(Extra.STABLE_RANK.key()) >= 1);
                }
                assertTrue(store.exists(Layout.profile(t.getCheckpointId(), t.getTarget(), "exact_renyi-2", "result.pb")));
            }
            assertEquals(oracle.get("attention").size(), heads, "every head of every layer");
        }));
    }

    @Test
    void eachUnitTellsItsTimeInEveryPhase() throws IOException {
        java.util.Map<UnitWorker.Phase, long[]> seen = new java.util.EnumMap<>(UnitWorker.Phase.class);
        UnitWorker.PhaseClock clock = (phase, nanos) -> seen.computeIfAbsent(phase, p -> new long[2])[0] += nanos;
        UnitWorker.PhaseClock counting = (phase, nanos) -> {
            clock.record(phase, nanos);
            seen.get(phase)[1]++;
        };
        Path cache = tmp.resolve("cache-phases");   // empty: this unit downloads its blobs
        UnitWorker timed = new UnitWorker(store, new StoredCheckpoints(store, UnitWorker.timedFetches(BlobTensorSource.onDisk(store, cache))),
                ProfileCalculator.fromEnvironment(), tmp.resolve("scratch"), counting);
        ProfileTask t = UnitPlanner.plan(event(Fixtures.root().resolve("runs/fft-lr1e-4/checkpoint-30")), 2, EXACT, false).get(0);
        ProfileComputed r = timed.compute(t);
        assertEquals(java.util.Set.of(UnitWorker.Phase.values()), seen.keySet());
        for (long[] v : seen.values()) assertEquals(1, v[1], "each phase once per unit");
        assertTrue(seen.get(UnitWorker.Phase.FETCH)[0] > 0 && seen.get(UnitWorker.Phase.PROFILE)[0] > 0, "fetching and profiling take time");
        long phases = seen.values().stream().mapToLong(v -> v[0]).sum();
        assertTrue(phases <= r.getComputeSeconds() * 1e9 + seen.get(UnitWorker.Phase.STORE)[0] + 1e6,
                "the phases are parts of the unit's time: " + phases + " ns vs " + r.getComputeSeconds() + " s");
    }
}
