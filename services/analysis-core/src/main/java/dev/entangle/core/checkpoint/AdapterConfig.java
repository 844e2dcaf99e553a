package dev.entangle.core.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import dev.entangle.core.CheckpointException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The parts of a PEFT {@code adapter_config.json} that fix ΔW: r, lora_alpha, rsLoRA,
 * rank/alpha patterns, fan_in_fan_out, DoRA; for MPS adapters also bond_dim and in_factors.
 */
public record AdapterConfig(Path file, String peftType, int r, double loraAlpha, boolean useRslora, boolean useDora,
                            boolean fanInFanOut, Map<String, Integer> rankPattern, Map<String, Double> alphaPattern,
                            List<String> targetModules, Integer bondDim, int[] inFactors) {

    public AdapterConfig {
        rankPattern = Map.copyOf(rankPattern);
        alphaPattern = Map.copyOf(alphaPattern);
        targetModules = List.copyOf(targetModules);
        inFactors = inFactors == null ? null : inFactors.clone();
    }

    @Override
    public int[] inFactors() { return inFactors == null ? null : inFactors.clone(); }

    static AdapterConfig parse(Path file, JsonNode root) {
        String type = text(root, "peft_type");
        if (type == null) throw new CheckpointException(file, null, "missing peft_type", null);
        Integer r = root.hasNonNull("r") && root.get("r").canConvertToInt() ? root.get("r").intValue() : null;
        if (r == null || r < 1) throw new CheckpointException(file, null, "invalid r", "need a positive integer r, got " + root.get("r"));
        if (!root.hasNonNull("lora_alpha") || !root.get("lora_alpha").isNumber()) {
            throw new CheckpointException(file, null, "invalid lora_alpha", "need a number, got " + root.get("lora_alpha"));
        }
        double alpha = root.get("lora_alpha").doubleValue();
        Map<String, Integer> rankPattern = new LinkedHashMap<>();
        JsonNode rp = root.get("rank_pattern");
        if (rp != null && rp.isObject()) {
            for (Map.Entry<String, JsonNode> e : rp.properties()) {
                if (!e.getValue().canConvertToInt() || e.getValue().intValue() < 1) {
                    throw new CheckpointException(file, null, "invalid rank_pattern", e.getKey() + " -> " + e.getValue());
                }
                rankPattern.put(e.getKey(), e.getValue().intValue());
            }
        }
        Map<String, Double> alphaPattern = new LinkedHashMap<>();
        JsonNode ap = root.get("alpha_pattern");
        if (ap != null && ap.isObject()) {
            for (Map.Entry<String, JsonNode> e : ap.properties()) {
                if (!e.getValue().isNumber()) {
                    throw new CheckpointException(file, null, "invalid alpha_pattern", e.getKey() + " -> " + e.getValue());
                }
                alphaPattern.put(e.getKey(), e.getValue().doubleValue());
            }
        }
        List<String> targets = new ArrayList<>();
        JsonNode tm = root.get("target_modules");
        if (tm != null && tm.isArray()) tm.forEach(n -> targets.add(n.asText()));
        else if (tm != null && tm.isTextual()) targets.add(tm.textValue());
        Integer bond = root.hasNonNull("bond_dim") ? root.get("bond_dim").intValue() : null;
        int[] inFactors = null;
        JsonNode inf = root.get("in_factors");
        if (inf != null && inf.isArray()) {
            inFactors = new int[inf.size()];
            for (int i = 0; i < inFactors.length; i++) inFactors[i] = inf.get(i).intValue();
        }
        if (bool(root, "use_dora")) {
            throw new CheckpointException(file, null, "DoRA not supported",
                    "use_dora=true: DoRA's ΔW needs the base weights' column norms; profile the merged model as FFT instead");
        }
        return new AdapterConfig(file, type, r, alpha, bool(root, "use_rslora"), bool(root, "use_dora"),
                bool(root, "fan_in_fan_out"), rankPattern, alphaPattern, targets, bond, inFactors);
    }

    /**
     * PEFT's pattern lookup: the first pattern p with {@code (.*\.)?(p)$} matching the module's
     * full name wins (peft.utils.other.get_pattern_key).
     */
    static <T> T lookup(Map<String, T> patterns, String moduleName, T fallback) {
        for (Map.Entry<String, T> e : patterns.entrySet()) {
            if (Pattern.compile("(.*\\.)?(" + e.getKey() + ")$").matcher(moduleName).matches()) return e.getValue();
        }
        return fallback;
    }

    /** Rank for a module (rank_pattern overrides r). */
    public int rankFor(String moduleName) { return lookup(rankPattern, moduleName, r); }

    /** lora_alpha for a module (alpha_pattern overrides lora_alpha). */
    public double alphaFor(String moduleName) { return lookup(alphaPattern, moduleName, loraAlpha); }

    /** PEFT's scaling: α/r, or α/√r with rsLoRA. */
    public double scalingFor(String moduleName) {
        int rank = rankFor(moduleName);
        double a = alphaFor(moduleName);
        return useRslora ? a / Math.sqrt(rank) : a / rank;
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    private static boolean bool(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v != null && v.asBoolean(false);
    }
}
