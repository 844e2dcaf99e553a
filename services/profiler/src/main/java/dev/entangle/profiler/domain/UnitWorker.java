package dev.entangle.profiler.domain;

import dev.entangle.core.attention.AttentionAnalysis;
import dev.entangle.core.attention.AttentionProbe;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.delta.DeltaAssembler;
import dev.entangle.core.delta.DeltaMatrix;
import dev.entangle.core.profile.CutEntropy;
import dev.entangle.core.profile.EntanglementProfile;
import dev.entangle.core.profile.Extra;
import dev.entangle.core.profile.ProfileCalculator;
import dev.entangle.core.profile.ProfileOptions;
import dev.entangle.core.profile.Target;
import dev.entangle.core.safetensors.DType;
import dev.entangle.core.safetensors.SafetensorsFile;
import dev.entangle.core.safetensors.SafetensorsWriter;
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
            case ATTENTION -> attention(m, Target.parse(task.getTarget()).layer(), options, task.getSettings().getUnmasked());
            case OUTPUT -> output(m, Target.parse(task.getTarget()).layer(), options);
            default -> throw new IllegalArgumentException("unit kind " + task.getKind() + " is not computed by this profiler");
        };
        String settingsKey = Settings.key(task.getSettings());
        ProfileComputed.Builder out = ProfileComputed.newBuilder()
                .setCheckpointId(task.getCheckpointId()).setRun(task.getRun()).setStep(task.getStep()).setMethod(task.getMethod())
                .setKind(task.getKind()).setTarget(task.getTarget()).setSettingsKey(settingsKey).addAllProfiles(c.profiles())
                .setUnitIndex(task.getUnitIndex()).setUnitCount(task.getUnitCount()).setEngine(calculator.linearAlgebra().name())
                .setWorker(WORKER)
                .setComputedAtMs(System.currentTimeMillis());
        // what the checkpoint's event said about its run, as the planner carried it
        out.setBaseId(task.getBaseId()).setTenant(task.getTenant());
        if (task.hasHyper()) out.setHyper(task.getHyper());
        if (task.hasMetrics()) out.setMetrics(task.getMetrics());
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
            return new Computed(List.of(ProfileMessages.profile(d.key(), p, Extra.ofRank(d.rank()), d.warnings())), Map.of(d.key(), p));
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
            Map<Extra, Double> extras = new LinkedHashMap<>(n.extras());
            extras.put(Extra.CAPTURED, n.source().equals("captured") ? 1.0 : 0.0);
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
