package dev.entangle.profiler;

import dev.entangle.core.attention.AttentionAnalysis;
import dev.entangle.core.attention.AttentionProbe;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.checkpoint.DeltaAssembler;
import dev.entangle.core.checkpoint.DeltaMatrix;
import dev.entangle.core.profile.CutEntropy;
import dev.entangle.core.profile.EntanglementProfile;
import dev.entangle.core.profile.ProfileCalculator;
import dev.entangle.core.profile.ProfileOptions;
import dev.entangle.core.safetensors.DType;
import dev.entangle.core.safetensors.SafetensorsFile;
import dev.entangle.core.safetensors.SafetensorsWriter;
import dev.entangle.proto.events.v1.Hyperparameters;
import dev.entangle.proto.events.v1.Metrics;
import dev.entangle.proto.events.v1.Profile;
import dev.entangle.proto.events.v1.ProfileComputed;
import dev.entangle.proto.events.v1.ProfileTask;
import dev.entangle.store.CheckpointManifest;
import dev.entangle.store.Layout;
import dev.entangle.store.ObjectStore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Computes one work unit: fetches what it needs from the object store, profiles it with
 * analysis-core, stores spectra (when asked) and the result under the result's key, and
 * returns the {@code ProfileComputed} to publish. Deterministic: a redelivered task writes the
 * same objects and the same message.
 */
public final class UnitWorker {

    /** This profiler instance, as results name it (replicas split a checkpoint's units). */
    static final String WORKER = hostName() + "/" + ProcessHandle.current().pid();

    private final ObjectStore store;
    private final StoredCheckpoints checkpoints;
    private final ProfileCalculator calculator;
    private final Path scratch;

    public UnitWorker(ObjectStore store, StoredCheckpoints checkpoints, ProfileCalculator calculator, Path scratch) {
        this.store = store;
        this.checkpoints = checkpoints;
        this.calculator = calculator;
        this.scratch = scratch;
    }

    /** Profiles named for the result, plus the per-cut spectra to keep. */
    private record Computed(List<Profile> profiles, Map<String, EntanglementProfile> raw) {}

    /** Whether checkpoints with a probe get ATTENTION and OUTPUT units. */
    public boolean computesAttention() {
        return true;
    }

    public ProfileComputed compute(ProfileTask task) throws IOException {
        long t0 = System.nanoTime();
        CheckpointManifest m = checkpoints.manifest(task.getManifestKey());
        ProfileOptions options = Settings.options(task.getSettings());
        Computed c = switch (task.getKind()) {
            case DELTA -> delta(m, task.getTarget(), options);
            case ATTENTION -> attention(m, UnitPlanner.layerOf(task.getTarget()), options, task.getSettings().getUnmasked());
            case OUTPUT -> output(m, UnitPlanner.layerOf(task.getTarget()), options);
            default -> throw new IllegalArgumentException("unit kind " + task.getKind() + " is not computed by this profiler");
        };
        String settingsKey = Settings.key(task.getSettings());
        ProfileComputed.Builder out = ProfileComputed.newBuilder()
                .setCheckpointId(task.getCheckpointId()).setRun(task.getRun()).setStep(task.getStep()).setMethod(task.getMethod())
                .setKind(task.getKind()).setTarget(task.getTarget()).setSettingsKey(settingsKey).addAllProfiles(c.profiles())
                .setUnitIndex(task.getUnitIndex()).setUnitCount(task.getUnitCount()).setEngine(calculator.linearAlgebra().name())
                .setWorker(WORKER)
                .setComputedAtMs(System.currentTimeMillis());
        if (m.baseId() != null) out.setBaseId(m.baseId());
        runFields(m, out);
        if (options.keepSpectra()) out.setSpectraKey(storeSpectra(task, settingsKey, c.raw()));
        out.setComputeSeconds((System.nanoTime() - t0) / 1e9);
        ProfileComputed result = out.build();
        store.put(Layout.profile(task.getCheckpointId(), task.getTarget(), settingsKey, "result.pb"), result.toByteArray(),
                "application/x-protobuf");
        return result;
    }

    private Computed delta(CheckpointManifest m, String target, ProfileOptions options) throws IOException {
        try (Checkpoint ckpt = checkpoints.open(m);
             Checkpoint base = m.baseId() == null ? null : checkpoints.base(m.baseId())) {
            DeltaMatrix d = DeltaAssembler.delta(ckpt, base, target);
            EntanglementProfile p = calculator.profile(d, options);
            Map<String, Double> extras = new LinkedHashMap<>();
            if (d.rank() > 0) {
                extras.put("rank", (double) d.rank());
                extras.put("ln_r", Math.log(d.rank()));
            }
            return new Computed(List.of(ProfileMessages.profile(d.key(), p, extras, d.warnings())), Map.of(d.key(), p));
        }
    }

    private Computed attention(CheckpointManifest m, int layer, ProfileOptions options, boolean unmasked) throws IOException {
        try (SafetensorsFile src = SafetensorsFile.open(checkpoints.probe(m))) {
            return named(new AttentionAnalysis(calculator).heads(AttentionProbe.of(src), layer, options, unmasked));
        }
    }

    private Computed output(CheckpointManifest m, int layer, ProfileOptions options) throws IOException {
        try (SafetensorsFile src = SafetensorsFile.open(checkpoints.probe(m))) {
            return named(List.of(new AttentionAnalysis(calculator).output(AttentionProbe.of(src), layer, options)));
        }
    }

    private static Computed named(List<AttentionAnalysis.Named> all) {
        List<Profile> profiles = new ArrayList<>();
        Map<String, EntanglementProfile> raw = new LinkedHashMap<>();
        for (AttentionAnalysis.Named n : all) {
            Map<String, Double> extras = new LinkedHashMap<>(n.extras());
            extras.put("captured", n.source().equals("captured") ? 1.0 : 0.0);
            profiles.add(ProfileMessages.profile(n.name(), n.profile(), extras, n.warnings()));
            raw.put(n.name(), n.profile());
        }
        return new Computed(profiles, raw);
    }

    /** Every cut's normalised spectrum as F64 tensors "{profile}.cut{k}" in one safetensors object. */
    private String storeSpectra(ProfileTask task, String settingsKey, Map<String, EntanglementProfile> raw) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter();
        for (Map.Entry<String, EntanglementProfile> e : raw.entrySet()) {
            for (CutEntropy c : e.getValue().cuts()) {
                double[] s = c.spectrum();
                w.add(e.getKey() + ".cut" + c.cut(), DType.F64, new long[]{s.length}, s);
            }
        }
        Files.createDirectories(scratch);
        Path f = Files.createTempFile(scratch, "spectra-", ".safetensors");
        try {
            w.write(f);
            String key = Layout.profile(task.getCheckpointId(), task.getTarget(), settingsKey, "spectra.safetensors");
            store.put(key, f, "application/octet-stream");
            return key;
        } finally {
            Files.deleteIfExists(f);
        }
    }

    /** What the result says about its run, from the checkpoint's manifest: hyper-parameters, metrics, owner. */
    private static void runFields(CheckpointManifest m, ProfileComputed.Builder out) {
        if (m.tenant() != null) out.setTenant(m.tenant());
        if (m.hyper() != null) {
            Hyperparameters.Builder h = Hyperparameters.newBuilder();
            if (m.hyper().r() != null) h.setR(m.hyper().r());
            if (m.hyper().loraAlpha() != null) h.setLoraAlpha(m.hyper().loraAlpha());
            if (m.hyper().rslora() != null) h.setRslora(m.hyper().rslora());
            if (m.hyper().bondDim() != null) h.setBondDim(m.hyper().bondDim());
            if (m.hyper().learningRate() != null) h.setLearningRate(m.hyper().learningRate());
            out.setHyper(h);
        }
        if (m.metrics() != null) {
            Metrics.Builder mt = Metrics.newBuilder();
            if (m.metrics().trainLoss() != null) mt.setTrainLoss(m.metrics().trainLoss());
            if (m.metrics().testLoss() != null) mt.setTestLoss(m.metrics().testLoss());
            out.setMetrics(mt);
        }
    }

    private static String hostName() {
        String h = System.getenv("HOSTNAME");
        if (h != null && !h.isBlank()) return h;
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            return "localhost";
        }
    }

    static List<String> names(List<Profile> ps) {
        List<String> n = new ArrayList<>();
        ps.forEach(p -> n.add(p.getName()));
        return n;
    }
}
