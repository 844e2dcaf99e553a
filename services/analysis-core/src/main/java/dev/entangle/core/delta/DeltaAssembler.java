package dev.entangle.core.delta;

import dev.entangle.core.CheckpointException;
import dev.entangle.core.checkpoint.AdapterTensors;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.checkpoint.CheckpointKind;
import dev.entangle.core.checkpoint.ModuleTensors;
import dev.entangle.core.checkpoint.ModuleTensors.Located;
import dev.entangle.core.profile.Target;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * ΔW of the target modules of every layer, in double whatever the stored dtype, by the rule of
 * the checkpoint's kind ({@link FullFineTuningDelta}, {@link LoraDelta}, {@link DoraDelta}, {@link MpsDelta}).
 */
public final class DeltaAssembler {

    public static final List<String> DEFAULT_MODULES = List.of("q_proj", "v_proj");

    private DeltaAssembler() {}

    /** ΔW of each requested module of every layer, ordered by layer then by the modules' order; every module must be there. */
    public static List<DeltaMatrix> deltas(Checkpoint ckpt, Checkpoint base, List<String> modules) {
        if (modules.isEmpty()) throw new IllegalArgumentException("no modules requested");
        for (String m : modules) {
            if (!Target.MODULE.matcher(m).matches()) {
                throw new CheckpointException(ckpt.dir(), null, "invalid module name", "'" + m + "'");
            }
        }
        DeltaRule rule = DeltaRule.of(ckpt, base);
        rule.requireInputs();
        List<Located> found = new ArrayList<>(rule.locate(modules).values());
        found.sort(Comparator.comparingInt(Located::layer).thenComparingInt(x -> modules.indexOf(x.module())));
        List<DeltaMatrix> out = new ArrayList<>(found.size());
        for (Located loc : found) out.add(rule.assemble(loc));
        for (String m : modules) {
            if (out.stream().noneMatch(d -> d.module().equals(m))) {
                throw new CheckpointException(ckpt.tensors().location(), null, "target module not found",
                        "no tensors for module '" + m + "' in this " + ckpt.kind().method() + " checkpoint");
            }
        }
        return out;
    }

    /**
     * ΔW of those of the given modules the checkpoint has (an adapter may target only some of
     * the defaults); refuses a checkpoint that has none of them.
     */
    public static List<DeltaMatrix> deltasPresent(Checkpoint ckpt, Checkpoint base, List<String> modules) {
        DeltaRule rule = DeltaRule.of(ckpt, base);
        List<String> present = modules.stream().filter(m -> !rule.locate(List.of(m)).isEmpty()).toList();
        if (present.isEmpty()) {
            throw new CheckpointException(ckpt.tensors().location(), null, "target module not found",
                    "none of " + modules + " in this " + ckpt.kind().method() + " checkpoint");
        }
        return deltas(ckpt, base, present);
    }

    /**
     * The ΔW targets among the given modules that the checkpoint holds, by layer then module
     * name; names only, no tensor is read (the forward pass asks which modules an adapter changes).
     */
    public static List<Target.Delta> targets(Checkpoint ckpt, Checkpoint base, List<String> modules) {
        return DeltaRule.of(ckpt, base).locate(modules).values().stream().map(Located::target)
                .sorted(Comparator.comparingInt(Target.Delta::layer).thenComparing(Target.Delta::module)).toList();
    }

    /** ΔW of one target "layers.{i}.{module}" (reads only that target's tensors). */
    public static DeltaMatrix delta(Checkpoint ckpt, Checkpoint base, String key) {
        Target.Delta target = Target.parseDelta(key);
        DeltaRule rule = DeltaRule.of(ckpt, base);
        rule.requireInputs();
        Located loc = rule.locate(List.of(target.module())).get(target.key());
        if (loc == null) {
            throw new CheckpointException(ckpt.tensors().location(), null, "target module not found", "no tensors for " + key);
        }
        return rule.assemble(loc);
    }

    /**
     * Checks a DoRA adapter's modules against a base known only by its weights' shapes (ingest
     * checks against a registered base's manifest; forming ΔW itself needs W₀'s values): every
     * module's A and B as LoRA's, its magnitude vector m [out] finite, and W₀ present with the
     * matching shape. {@code baseShapes}: target "layers.{i}.{module}" → W₀'s shape;
     * {@code baseWhere} names the base in refusals. Returns the module targets, in layer order.
     */
    public static List<String> checkDora(Checkpoint ckpt, Map<String, long[]> baseShapes, Path baseWhere) {
        if (ckpt.kind() != CheckpointKind.DORA) throw new IllegalArgumentException("not a DoRA checkpoint: " + ckpt.kind());
        DeltaRule rule = DeltaRule.of(ckpt, null);
        List<Located> found = new ArrayList<>(ModuleTensors.locate(ckpt.tensors(), modulesOf(ckpt), rule.moduleSuffix()).values());
        found.sort(Comparator.comparingInt(Located::layer).thenComparing(Located::module));
        if (found.isEmpty()) {
            throw new CheckpointException(ckpt.tensors().location(), null, "no adapter tensors", "no lora_A tensors under layers.{i}");
        }
        List<String> targets = new ArrayList<>();
        for (Located loc : found) {
            DoraDelta.check(ckpt, loc, baseShapes.get(loc.target().key()), baseWhere);
            targets.add(loc.target().key());
        }
        return targets;
    }

    private static List<String> modulesOf(Checkpoint ckpt) {
        java.util.Set<String> modules = new java.util.LinkedHashSet<>();
        for (String n : ckpt.tensors().names()) AdapterTensors.moduleOf(n).ifPresent(modules::add);
        return List.copyOf(modules);
    }

    /**
     * The MPS adapter's A_mps [r, d1·d2] from its two cores (paper Appendix IX):
     * A[q, i1·d2 + i2] = Σ_c core1[q, c, i1] · core2[c, 0, i2].
     */
    public static double[] contractMpsCores(double[] core1, double[] core2, int r, int chi, int d1, int d2) {
        return MpsDelta.contractCores(core1, core2, r, chi, d1, d2);
    }
}
