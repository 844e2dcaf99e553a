package dev.entangle.core.profile;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.entangle.core.attention.AttentionAnalysis;
import dev.entangle.core.attention.AttentionProbe;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.delta.DeltaAssembler;
import dev.entangle.core.delta.DeltaMatrix;
import dev.entangle.core.model.LlamaForward;
import dev.entangle.core.model.ProbeTokens;
import dev.entangle.core.safetensors.SafetensorsFile;
import dev.entangle.core.safetensors.TensorSource;

import java.nio.file.Path;
import java.util.List;

/**
 * Every profile of one checkpoint, as one JSON document in the oracle's shape:
 * ΔW of the target modules ("deltas"), the attention of every layer and head ("attention")
 * and the output operators XXᵀ ("outputs") when an attention probe is available: the
 * checkpoint's own attention_probe.safetensors, or with probe tokens the checkpoint's model run
 * forward on them ({@link LlamaForward}; every such entry's "source" is "forward").
 */
public final class CheckpointProfiler {

    /**
     * What to profile. {@code probe} null: the checkpoint's own attention_probe.safetensors, if
     * any. {@code modules} null or empty: those of the defaults (q_proj, v_proj) the checkpoint
     * has; named modules must all be there. {@code probeTokens}: run the checkpoint's model on
     * them for attention and outputs instead of any probe file (an adapter's model needs
     * {@code base}).
     */
    public record Request(Path checkpoint, Path base, Path probe, List<String> modules, ProfileOptions options,
                          boolean unmasked, ProbeTokens probeTokens) {
        public Request {
            modules = modules == null || modules.isEmpty() ? List.of() : List.copyOf(modules);
            options = options == null ? ProfileOptions.DEFAULT : options;
            if (probe != null && probeTokens != null) {
                throw new IllegalArgumentException("give a probe file or probe tokens for the forward pass, not both");
            }
        }

        /** Attention and outputs from a probe file (or none). */
        public Request(Path checkpoint, Path base, Path probe, List<String> modules, ProfileOptions options, boolean unmasked) {
            this(checkpoint, base, probe, modules, options, unmasked, null);
        }
    }

    /** The "source" of every attention and output entry made by the forward pass. */
    public static final String FORWARD = "forward";

    private final ProfileCalculator calculator;

    /** A layer's attention heads are profiled side by side where the engine gains by it ({@code LinearAlgebra.sideBySide}). */
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
            // checked before anything is computed: config, every weight's presence and shape, the tokens
            LlamaForward forward = req.probeTokens() == null ? null : LlamaForward.of(ckpt, base, calculator.linearAlgebra());
            if (forward != null) req.probeTokens().requireFits(forward.config());
            if (!ckpt.kind().needsBase() && base != null && forward == null) {
                info.put("note", "--base is not needed for an adapter checkpoint and was not used");
            }
            ckpt.modulesToSaveNote().ifPresent(n -> info.put("modules_to_save", n));
            profileDeltas(ckpt, base, req, doc.putObject("deltas"));
            if (forward != null) {
                ProbeTokens tokens = req.probeTokens();
                info.put("probe", tokens.origin().toString());
                info.put("probe_source", FORWARD);
                info.put("probe_tokens", tokens.length());
                ProfileJson.warnings(info, tokens.fewSitesWarning().stream().toList());
                ObjectNode external = external(forward, tokens, req.options(), req.unmasked());
                doc.set("attention", external.get("attention"));
                doc.set("outputs", external.get("outputs"));
            } else {
                Path probe = req.probe() != null ? req.probe() : ckpt.attentionProbe().orElse(null);
                if (probe != null) {
                    info.put("probe", probe.toString());
                    try (SafetensorsFile src = SafetensorsFile.open(probe)) {
                        profileProbe(src, req.options(), req.unmasked(), doc, null, List.of());
                    }
                }
            }
        }
        return doc;
    }

    /** "deltas": ΔW of the target modules (formed together, then released before any forward pass). */
    private void profileDeltas(Checkpoint ckpt, Checkpoint base, Request req, ObjectNode deltas) {
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
    }

    /**
     * The external profiles of a model on a probe sequence, {"attention": ..., "outputs": ...}:
     * the model run forward on the tokens, its captures written layer by layer into a private
     * temporary folder ({@link ProbeFolder}: a 1B model's probe does not fit the heap), profiled
     * as a probe file is (every entry's source "forward", with the sequence's warnings), and the
     * folder removed whatever happens.
     */
    public ObjectNode external(LlamaForward forward, ProbeTokens tokens, ProfileOptions options, boolean unmasked) {
        List<String> warnings = tokens.fewSitesWarning().stream().toList();
        ObjectNode doc = ProfileJson.newObject();
        try (ProbeFolder folder = ProbeFolder.temporary(null)) {
            forward.run(tokens, folder);
            try (TensorSource src = folder.open()) {
                profileProbe(src, options, unmasked, doc, FORWARD, warnings);
            }
        }
        return doc;
    }

    /**
     * "attention" (every layer and head, optionally unmasked too) and "outputs" (XXᵀ per layer);
     * {@code source} non-null replaces each entry's source, {@code warnings} join each entry's.
     */
    private void profileProbe(TensorSource src, ProfileOptions options, boolean unmasked, ObjectNode doc, String source, List<String> warnings) {
        AttentionProbe probe = AttentionProbe.of(src);
        AttentionAnalysis analysis = new AttentionAnalysis(calculator);
        ObjectNode attention = doc.putObject("attention");
        ObjectNode outputs = doc.putObject("outputs");
        AttentionAnalysis.Layers all = analysis.layers(probe, options, unmasked);
        for (AttentionAnalysis.Named n : all.heads()) attention.set(n.name(), named(n, source, warnings));
        for (AttentionAnalysis.Named xxt : all.outputs()) outputs.set(xxt.name(), named(xxt, source, warnings));
    }

    private static ObjectNode named(AttentionAnalysis.Named n, String source, List<String> warnings) {
        ObjectNode o = ProfileJson.profile(n.profile());
        o.put("source", source != null ? source : n.source());
        ProfileJson.extras(o, n.extras());
        List<String> all = new java.util.ArrayList<>(n.warnings());
        all.addAll(warnings);
        ProfileJson.warnings(o, all);
        return o;
    }
}
