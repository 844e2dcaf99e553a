package dev.entangle.core.profile;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.entangle.core.attention.AttentionAnalysis;
import dev.entangle.core.attention.AttentionProbe;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.delta.DeltaAssembler;
import dev.entangle.core.delta.DeltaMatrix;
import dev.entangle.core.safetensors.SafetensorsFile;

import java.nio.file.Path;
import java.util.List;

/**
 * Every profile of one checkpoint, as one JSON document in the oracle's shape:
 * ΔW of the target modules ("deltas"), the attention of every layer and head ("attention")
 * and the output operators XXᵀ ("outputs") when an attention probe is available.
 */
public final class CheckpointProfiler {

    /**
     * What to profile. {@code probe} null: the checkpoint's own attention_probe.safetensors, if
     * any. {@code modules} null or empty: those of the defaults (q_proj, v_proj) the checkpoint
     * has; named modules must all be there.
     */
    public record Request(Path checkpoint, Path base, Path probe, List<String> modules, ProfileOptions options,
                          boolean unmasked) {
        public Request {
            modules = modules == null || modules.isEmpty() ? List.of() : List.copyOf(modules);
            options = options == null ? ProfileOptions.DEFAULT : options;
        }
    }

    private final ProfileCalculator calculator;

    public CheckpointProfiler(ProfileCalculator calculator) {
        this.calculator = calculator;
    }

    public ObjectNode profile(Request req) {
        ObjectNode doc = ProfileJson.newObject();
        doc.put("log", ProfileJson.LOG);
        doc.put("reshape", ProfileJson.RESHAPE);
        try (Checkpoint ckpt = Checkpoint.open(req.checkpoint());
             Checkpoint base = req.base() == null ? null : Checkpoint.open(req.base())) {
            ObjectNode info = doc.putObject("checkpoint");
            info.put("path", ckpt.dir().toString());
            info.put("method", ckpt.kind().method());
            if (base != null) info.put("base", base.dir().toString());
            info.put("engine", calculator.linearAlgebra().name());
            if (!ckpt.kind().needsBase() && base != null) {
                info.put("note", "--base is not needed for an adapter checkpoint and was not used");
            }
            ckpt.modulesToSaveNote().ifPresent(n -> info.put("modules_to_save", n));
            ObjectNode deltas = doc.putObject("deltas");
            List<DeltaMatrix> found = req.modules().isEmpty()
                    ? DeltaAssembler.deltasPresent(ckpt, base, DeltaAssembler.DEFAULT_MODULES)
                    : DeltaAssembler.deltas(ckpt, base, req.modules());
            for (DeltaMatrix d : found) {
                EntanglementProfile p = calculator.profile(d, req.options());
                ObjectNode o = ProfileJson.profile(p);
                ProfileJson.extras(o, Extra.ofRank(d.rank()));
                ProfileJson.warnings(o, d.warnings());
                deltas.set(d.key(), o);
            }
            Path probe = req.probe() != null ? req.probe() : ckpt.attentionProbe().orElse(null);
            if (probe != null) {
                info.put("probe", probe.toString());
                profileProbe(probe, req, doc);
            }
        }
        return doc;
    }

    /** "attention" (every layer and head, optionally unmasked too) and "outputs" (XXᵀ per layer). */
    private void profileProbe(Path probeFile, Request req, ObjectNode doc) {
        try (SafetensorsFile src = SafetensorsFile.open(probeFile)) {
            AttentionProbe probe = AttentionProbe.of(src);
            AttentionAnalysis analysis = new AttentionAnalysis(calculator);
            ObjectNode attention = doc.putObject("attention");
            ObjectNode outputs = doc.putObject("outputs");
            for (int layer : probe.layers()) {
                for (AttentionAnalysis.Named n : analysis.heads(probe, layer, req.options(), req.unmasked())) {
                    attention.set(n.name(), named(n));
                }
                AttentionAnalysis.Named xxt = analysis.output(probe, layer, req.options());
                outputs.set(xxt.name(), named(xxt));
            }
        }
    }

    private static ObjectNode named(AttentionAnalysis.Named n) {
        ObjectNode o = ProfileJson.profile(n.profile());
        o.put("source", n.source());
        ProfileJson.extras(o, n.extras());
        ProfileJson.warnings(o, n.warnings());
        return o;
    }
}
