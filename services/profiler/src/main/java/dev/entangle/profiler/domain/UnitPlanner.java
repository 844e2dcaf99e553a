package dev.entangle.profiler.domain;

import dev.entangle.core.profile.Target;
import dev.entangle.proto.events.v1.AnalysisSettings;
import dev.entangle.proto.events.v1.CheckpointIngested;
import dev.entangle.proto.events.v1.ProfileTask;
import dev.entangle.proto.events.v1.UnitKind;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a checkpoint into work units: one per ΔW target, and with an attention probe one per
 * layer's attention (all heads, target {@code layers.{i}.attention}) and one per layer's output
 * operator XXᵀ. A checkpoint without a probe, on a base registered with a probe set, gets its
 * probe from a forward unit (target {@code forward}) planned before those. Units travel through
 * the task topic so that replicas share one big checkpoint; each carries what the checkpoint's
 * event says about its run.
 */
public final class UnitPlanner {

    private UnitPlanner() {}

    public static List<ProfileTask> plan(CheckpointIngested ev, int probeLayers, AnalysisSettings settings, boolean attention) {
        return plan(ev, probeLayers, settings, attention, null, 0);
    }

    /**
     * As {@link #plan(CheckpointIngested, int, AnalysisSettings, boolean)}; a checkpoint without a
     * probe of its own whose base has the probe set {@code forwardSet} (non-null) gets a forward
     * unit first and then, on its captures, one attention and one XXᵀ unit for each of its
     * {@code modelLayers} layers.
     */
    public static List<ProfileTask> plan(CheckpointIngested ev, int probeLayers, AnalysisSettings settings, boolean attention,
                                         String forwardSet, int modelLayers) {
        record Unit(UnitKind kind, String target) {}
        List<Unit> units = new ArrayList<>();
        for (String t : ev.getTargetsList()) units.add(new Unit(UnitKind.DELTA, Target.parseDelta(t).key()));
        boolean forward = !ev.getHasProbe() && forwardSet != null && attention;
        int layers = ev.getHasProbe() ? probeLayers : forward ? modelLayers : 0;
        if (forward) units.add(new Unit(UnitKind.FORWARD, Target.FORWARD));
        if (attention) {
            // targets differ per kind: a result's key is (checkpoint, target, settings)
            for (int i = 0; i < layers; i++) units.add(new Unit(UnitKind.ATTENTION, Target.attention(i).key()));
            for (int i = 0; i < layers; i++) units.add(new Unit(UnitKind.OUTPUT, Target.output(i).key()));
        }
        List<ProfileTask> tasks = new ArrayList<>(units.size());
        for (int i = 0; i < units.size(); i++) {
            ProfileTask.Builder b = ProfileTask.newBuilder()
                    .setCheckpointId(ev.getCheckpointId()).setRun(ev.getRun()).setStep(ev.getStep()).setMethod(ev.getMethod())
                    .setBucket(ev.getBucket()).setManifestKey(ev.getManifestKey())
                    .setKind(units.get(i).kind()).setTarget(units.get(i).target()).setSettings(settings)
                    .setUnitIndex(i).setUnitCount(units.size())
                    .setHyper(ev.getHyper()).setMetrics(ev.getMetrics()).setTenant(ev.getTenant()).setBaseId(ev.getBaseId());
            if (forward && units.get(i).kind() != UnitKind.DELTA) b.setProbeSet(forwardSet);
            tasks.add(b.build());
        }
        return tasks;
    }

    /** Kafka key of a task: (checkpoint, target), so that one checkpoint's units land on many partitions. */
    public static String taskKey(ProfileTask t) { return t.getCheckpointId() + "/" + t.getTarget(); }
}
