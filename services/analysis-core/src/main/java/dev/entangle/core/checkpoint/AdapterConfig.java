package dev.entangle.core.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import dev.entangle.core.CheckpointException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The parts of a PEFT {@code adapter_config.json} that fix ΔW: r, lora_alpha, rsLoRA,
 * rank/alpha patterns, fan_in_fan_out, DoRA; which modules it adapts ({@code target_modules} as
 * a list, a regex or {@code "all-linear"}, {@code layers_to_transform}, {@code layers_pattern});
 * {@code modules_to_save} (trained whole, stored beside the adapter: reported, not profiled);
 * for MPS adapters also bond_dim and in_factors.
 *
 * @param targetModules   target_modules given as a list (empty when given as a string or absent)
 * @param targetRegex     target_modules given as a string: a regex matched against the whole module
 *                        name, or {@link #ALL_LINEAR}; null when given as a list or absent
 * @param layersToTransform layers_to_transform (empty: every layer)
 * @param layersPattern   layers_pattern (empty: PEFT's default, the first numbered segment)
 * @param modulesToSave   modules_to_save
 */
public record AdapterConfig(Path file, String peftType, int r, double loraAlpha, boolean useRslora, boolean useDora,
                            boolean fanInFanOut, Map<String, Integer> rankPattern, Map<String, Double> alphaPattern,
                            List<String> targetModules, String targetRegex, List<Integer> layersToTransform,
                            List<String> layersPattern, List<String> modulesToSave, Integer bondDim, int[] inFactors) {

    /** PEFT's shorthand for "every linear layer but the output head" ({@code INCLUDE_LINEAR_LAYERS_SHORTHAND}). */
    public static final String ALL_LINEAR = "all-linear";

    public AdapterConfig {
        rankPattern = Map.copyOf(rankPattern);
        alphaPattern = Map.copyOf(alphaPattern);
        targetModules = List.copyOf(targetModules);
        layersToTransform = List.copyOf(layersToTransform);
        layersPattern = List.copyOf(layersPattern);
        modulesToSave = List.copyOf(modulesToSave);
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
        String targetRegex = null;
        JsonNode tm = root.get("target_modules");
        if (tm != null && tm.isArray()) {
            tm.forEach(n -> targets.add(n.asText()));
        } else if (tm != null && tm.isTextual()) {
            targetRegex = tm.textValue();
            if (!targetRegex.equalsIgnoreCase(ALL_LINEAR)) {
                try {
                    Pattern.compile(targetRegex);
                } catch (PatternSyntaxException e) {
                    throw new CheckpointException(file, null, "invalid target_modules", "not a regular expression: " + e.getDescription());
                }
            }
        }
        List<Integer> layers = new ArrayList<>();
        JsonNode lt = root.get("layers_to_transform");
        if (lt != null && lt.isIntegralNumber()) {
            layers.add(lt.intValue());
        } else if (lt != null && lt.isArray()) {
            for (JsonNode n : lt) {
                if (!n.isIntegralNumber()) throw new CheckpointException(file, null, "invalid layers_to_transform", "not a layer index: " + n);
                layers.add(n.intValue());
            }
        } else if (lt != null && !lt.isNull()) {
            throw new CheckpointException(file, null, "invalid layers_to_transform", "need an integer or a list of integers, got " + lt);
        }
        Integer bond = root.hasNonNull("bond_dim") ? root.get("bond_dim").intValue() : null;
        int[] inFactors = null;
        JsonNode inf = root.get("in_factors");
        if (inf != null && inf.isArray()) {
            inFactors = new int[inf.size()];
            for (int i = 0; i < inFactors.length; i++) inFactors[i] = inf.get(i).intValue();
        }
        return new AdapterConfig(file, type, r, alpha, bool(root, "use_rslora"), bool(root, "use_dora"),
                bool(root, "fan_in_fan_out"), rankPattern, alphaPattern, targets, targetRegex, layers,
                strings(root, "layers_pattern"), strings(root, "modules_to_save"), bond, inFactors);
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

    /**
     * Refuses adapter tensors for a module the config does not adapt, by PEFT's own matching
     * ({@code peft.tuners.tuners_utils.check_target_module_exists}): a string target_modules is a
     * regex matched against the whole name ({@code "all-linear"}: every linear layer), a list
     * matches the name or its last dotted parts; with layers_to_transform the layer index (the
     * first numbered segment, or the one after a layers_pattern) must be listed. {@code tensor}
     * names the offending tensor in the message.
     */
    public void requireTargeted(String moduleName, String tensor) {
        String why = null;
        if (targetRegex != null) {
            if (!targetRegex.equalsIgnoreCase(ALL_LINEAR) && !Pattern.compile(targetRegex).matcher(moduleName).matches()) {
                why = "target_modules '" + targetRegex + "' does not match " + moduleName;
            }
        } else if (!targetModules.isEmpty()
                && targetModules.stream().noneMatch(t -> moduleName.equals(t) || moduleName.endsWith("." + t))) {
            why = moduleName + " is not one of target_modules " + targetModules;
        }
        if (why == null && !layersToTransform.isEmpty()) {
            Integer layer = layerIndex(moduleName);
            if (layer == null || !layersToTransform.contains(layer)) {
                why = moduleName + (layer == null ? " has no layer index" : " is in layer " + layer)
                        + ", not in layers_to_transform " + layersToTransform;
            }
        }
        if (why != null) throw new CheckpointException(file, tensor, "module not targeted", why);
    }

    /** The layer index PEFT reads from a module name for layers_to_transform. */
    private Integer layerIndex(String moduleName) {
        List<String> patterns = layersPattern.isEmpty() ? List.of("[^.]*") : layersPattern;
        for (String p : patterns) {
            Matcher m = Pattern.compile(".*?\\." + p + "\\.(\\d+)\\..*").matcher(moduleName);
            if (m.matches()) return Integer.parseInt(m.group(1));
        }
        return null;
    }

    private static List<String> strings(JsonNode n, String field) {
        JsonNode v = n.get(field);
        List<String> out = new ArrayList<>();
        if (v != null && v.isTextual()) out.add(v.textValue());
        else if (v != null && v.isArray()) v.forEach(x -> out.add(x.asText()));
        return out;
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
