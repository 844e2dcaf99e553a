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
 * operator XXᵀ. Units travel through the task topic so that replicas share one big checkpoint;
 * each carries what the checkpoint's event says about its run.
 */
public final class UnitPlanner {

    private UnitPlanner() {}

    public static List<ProfileTask> plan(CheckpointIngested ev, int probeLayers, AnalysisSettings settings, boolean attention) {
        record Unit(UnitKind kind, Target target) {}
        List<Unit> units = new ArrayList<>();
        for (String t : ev.getTargetsList()) units.add(new Unit(UnitKind.DELTA, Target.parseDelta(t)));
        if (ev.getHasProbe() && attention) {
            // targets differ per kind: a result's key is (checkpoint, target, settings)
            for (int i = 0; i < probeLayers; i++) units.add(new Unit(UnitKind.ATTENTION, Target.attention(i)));
            for (int i = 0; i < probeLayers; i++) units.add(new Unit(UnitKind.OUTPUT, Target.output(i)));
        }
        List<ProfileTask> tasks = new ArrayList<>(units.size());
        for (int i = 0; i < units.size(); i++) {
            tasks.add(ProfileTask.newBuilder()
                    .setCheckpointId(ev.getCheckpointId()).setRun(ev.getRun()).setStep(ev.getStep()).setMethod(ev.getMethod())
                    .setBucket(ev.getBucket()).setManifestKey(ev.getManifestKey())
                    .setKind(units.get(i).kind()).setTarget(units.get(i).target().key()).setSettings(settings)
                    .setUnitIndex(i).setUnitCount(units.size())
                    .setHyper(ev.getHyper()).setMetrics(ev.getMetrics()).setTenant(ev.getTenant()).setBaseId(ev.getBaseId())
                    .build());
        }
        return tasks;
    }

    /** Kafka key of a task: (checkpoint, target), so that one checkpoint's units land on many partitions. */
    public static String taskKey(ProfileTask t) { return t.getCheckpointId() + "/" + t.getTarget(); }
}
