package dev.entangle.profiler.domain;

import dev.entangle.core.attention.AttentionAnalysis;
import dev.entangle.core.attention.AttentionProbe;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.delta.DeltaAssembler;
import dev.entangle.core.delta.DeltaMatrix;
import dev.entangle.core.model.ProbeTokens;
import dev.entangle.core.profile.CutEntropy;
import dev.entangle.core.profile.EntanglementProfile;
import dev.entangle.core.profile.Extra;
import dev.entangle.core.profile.ProfileCalculator;
import dev.entangle.core.profile.ProfileOptions;
import dev.entangle.core.profile.Target;
import dev.entangle.core.safetensors.DType;
import dev.entangle.core.safetensors.SafetensorsFile;
import dev.entangle.core.safetensors.SafetensorsWriter;
import dev.entangle.core.safetensors.TensorSource;
import dev.entangle.proto.events.v1.Profile;
import dev.entangle.proto.events.v1.ProfileComputed;
import dev.entangle.proto.events.v1.ProfileTask;
import dev.entangle.store.CheckpointManifest;
import dev.entangle.store.ForwardProbe;
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

    /**
     * Where a unit's time goes: fetching its manifest and blobs from the object store (download
     * and digest check), assembling ΔW (decoding the tensors to float64 and forming W − W_base or
     * the factors), profiling (analysis-core's kernels; for attention units also rebuilding the
     * heads), and storing the result (and spectra).
     */
    public enum Phase {
        FETCH, ASSEMBLE, PROFILE, STORE;

        /** The phase as a metric tag. */
        public String tag() { return name().toLowerCase(java.util.Locale.ROOT); }
    }

    /** Told each unit's time in each phase (the profiler's metrics). */
    @FunctionalInterface
    public interface PhaseClock {
        void record(Phase phase, long nanos);

        PhaseClock NONE = (phase, nanos) -> { };
    }

    /** Nanoseconds the unit on this thread has spent in blob fetches so far ({@link #timedFetches} adds to it). */
    private static final ThreadLocal<long[]> FETCHING = ThreadLocal.withInitial(() -> new long[1]);

    /** A blob cache whose fetches count towards the FETCH phase of the unit on the fetching thread. */
    public static BlobTensorSource.BlobCache timedFetches(BlobTensorSource.BlobCache cache) {
        return blob -> {
            long t0 = System.nanoTime();
            try {
                return cache.fetch(blob);
            } finally {
                FETCHING.get()[0] += System.nanoTime() - t0;
            }
        };
    }

    private final ObjectStore store;
    private final StoredCheckpoints checkpoints;
    private final ProfileCalculator calculator;
    private final Path scratch;
    private final PhaseClock clock;
    private final ForwardProbes forwardProbes;

    public UnitWorker(ObjectStore store, StoredCheckpoints checkpoints, ProfileCalculator calculator, Path scratch) {
        this(store, checkpoints, calculator, scratch, PhaseClock.NONE);
    }

    public UnitWorker(ObjectStore store, StoredCheckpoints checkpoints, ProfileCalculator calculator, Path scratch, PhaseClock clock) {
        this.store = store;
        this.checkpoints = checkpoints;
        this.calculator = calculator;
        this.scratch = scratch;
        this.clock = clock;
        this.forwardProbes = new ForwardProbes(store, checkpoints, calculator.linearAlgebra(), scratch);
    }

    /**
     * Profiles named for the result, plus the per-cut spectra to keep; for attention, XXᵀ and
     * forward units the probe sequence they used (its set id, empty when unknown, and T).
     */
    private record Computed(List<Profile> profiles, Map<String, EntanglementProfile> raw, String probeSet, int probeTokens) {
        Computed(List<Profile> profiles, Map<String, EntanglementProfile> raw) {
            this(profiles, raw, "", 0);
        }

        Computed on(ProbeUsed p) {
            return new Computed(profiles, raw, p.set(), p.tokens());
        }
    }

    /** The probe sequence of a unit's probe: its set id ("" when the probe names no input_ids) and T. */
    private record ProbeUsed(String set, int tokens) {
        static ProbeUsed of(TensorSource src, AttentionProbe probe) {
            int t = probe.geometry().tokens();
            if (!src.contains(AttentionProbe.INPUT_IDS)) return new ProbeUsed("", t);
            double[] ids = src.readDoubles(AttentionProbe.INPUT_IDS);
            int[] i = new int[ids.length];
            for (int k = 0; k < ids.length; k++) i[k] = (int) ids[k];
            return new ProbeUsed(ProbeTokens.setId(i), t);
        }
    }

    /** Whether checkpoints with a probe get ATTENTION and OUTPUT units. */
    public boolean computesAttention() {
        return true;
    }

    public ProfileComputed compute(ProfileTask task) throws IOException {
        long t0 = System.nanoTime();
        FETCHING.get()[0] = 0;
        CheckpointManifest m = checkpoints.manifest(task.getManifestKey());
        long fetched = System.nanoTime() - t0;
        ProfileOptions options = Settings.options(task.getSettings());
        long[] profiling = new long[1];
        long c0 = System.nanoTime();
        Computed c = switch (task.getKind()) {
            case DELTA -> delta(m, task.getTarget(), options, profiling);
            case ATTENTION -> attention(m, task.getProbeSet(), Target.parse(task.getTarget()).layer(), options, task.getSettings().getUnmasked(), profiling);
            case OUTPUT -> output(m, task.getProbeSet(), Target.parse(task.getTarget()).layer(), options, profiling);
            case FORWARD -> forward(m, task.getProbeSet(), profiling);
            default -> throw new IllegalArgumentException("unit kind " + task.getKind() + " is not computed by this profiler");
        };
        long s0 = System.nanoTime();
        fetched += FETCHING.get()[0];
        clock.record(Phase.FETCH, fetched);
        clock.record(Phase.PROFILE, profiling[0]);
        clock.record(Phase.ASSEMBLE, Math.max(0, s0 - c0 - profiling[0] - FETCHING.get()[0]));
        String settingsKey = Settings.key(task.getSettings());
        ProfileComputed.Builder out = ProfileComputed.newBuilder()
                .setCheckpointId(task.getCheckpointId()).setRun(task.getRun()).setStep(task.getStep()).setMethod(task.getMethod())
                .setKind(task.getKind()).setTarget(task.getTarget()).setSettingsKey(settingsKey).addAllProfiles(c.profiles())
                .setUnitIndex(task.getUnitIndex()).setUnitCount(task.getUnitCount()).setEngine(calculator.linearAlgebra().name())
                .setWorker(WORKER).setProbeSet(c.probeSet()).setProbeTokens(c.probeTokens())
                .setComputedAtMs(System.currentTimeMillis());
        // what the checkpoint's event said about its run, as the planner carried it
        out.setBaseId(task.getBaseId()).setTenant(task.getTenant());
        if (task.hasHyper()) out.setHyper(task.getHyper());
        if (task.hasMetrics()) out.setMetrics(task.getMetrics());
        if (options.keepSpectra() && !c.raw().isEmpty()) out.setSpectraKey(storeSpectra(task, settingsKey, c.raw()));
        out.setComputeSeconds((System.nanoTime() - t0) / 1e9);
        ProfileComputed result = out.build();
        store.put(Layout.profile(task.getCheckpointId(), task.getTarget(), settingsKey, "result.pb"), result.toByteArray(),
                "application/x-protobuf");
        clock.record(Phase.STORE, System.nanoTime() - s0);
        return result;
    }

    private Computed delta(CheckpointManifest m, String target, ProfileOptions options, long[] profiling) throws IOException {
        try (Checkpoint ckpt = checkpoints.open(m);
             Checkpoint base = m.baseId() == null ? null : checkpoints.base(m.baseId())) {
            DeltaMatrix d = DeltaAssembler.delta(ckpt, base, target);
            long p0 = System.nanoTime();
            EntanglementProfile p = calculator.profile(d, options);
            profiling[0] = System.nanoTime() - p0;
            return new Computed(List.of(ProfileMessages.profile(d.key(), p, Extra.ofRank(d.rank()), d.warnings())), Map.of(d.key(), p));
        }
    }

    private Computed attention(CheckpointManifest m, String probeSet, int layer, ProfileOptions options, boolean unmasked, long[] profiling)
            throws IOException {
        try (TensorSource src = probe(m, probeSet)) {
            AttentionProbe probe = AttentionProbe.of(src);
            long p0 = System.nanoTime();
            List<AttentionAnalysis.Named> heads = new AttentionAnalysis(calculator).heads(probe, layer, options, unmasked);
            profiling[0] = System.nanoTime() - p0;
            return named(heads).on(ProbeUsed.of(src, probe));
        }
    }

    private Computed output(CheckpointManifest m, String probeSet, int layer, ProfileOptions options, long[] profiling) throws IOException {
        try (TensorSource src = probe(m, probeSet)) {
            AttentionProbe probe = AttentionProbe.of(src);
            long p0 = System.nanoTime();
            AttentionAnalysis.Named o = new AttentionAnalysis(calculator).output(probe, layer, options);
            profiling[0] = System.nanoTime() - p0;
            return named(List.of(o)).on(ProbeUsed.of(src, probe));
        }
    }

    /** The forward unit: the captures made (or found made) and stored; no profile of its own. */
    private Computed forward(CheckpointManifest m, String probeSet, long[] profiling) throws IOException {
        long p0 = System.nanoTime();
        ForwardProbe p = forwardProbes.obtain(m, requireSet(probeSet, "forward"));
        profiling[0] = System.nanoTime() - p0;
        return new Computed(List.of(), Map.of(), p.probeSet(), p.tokens());
    }

    /** The checkpoint's own probe file, or (with a probe set) its forward pass's captures on it. */
    private TensorSource probe(CheckpointManifest m, String probeSet) throws IOException {
        if (probeSet.isEmpty()) return SafetensorsFile.open(checkpoints.probe(m));
        return forwardProbes.open(m, forwardProbes.obtain(m, probeSet));
    }

    private static String requireSet(String probeSet, String kind) {
        if (probeSet.isEmpty()) throw new IllegalArgumentException("a " + kind + " unit names no probe set");
        return probeSet;
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
