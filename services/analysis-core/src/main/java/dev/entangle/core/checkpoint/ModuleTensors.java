package dev.entangle.core.checkpoint;

import dev.entangle.core.CheckpointException;
import dev.entangle.core.profile.Target;
import dev.entangle.core.safetensors.TensorSource;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How checkpoints name the tensors of a decoder layer's linear module, as HF transformers and
 * PEFT write them: {@code [wrapper.]layers.{i}.[block.]{module}{suffix}}, e.g.
 * {@code model.layers.0.self_attn.q_proj.weight} or
 * {@code base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight}. The part up to and
 * including the module is the module's prefix; the suffix tells the tensor's role.
 */
public final class ModuleTensors {

    /** A full model's linear weight. */
    public static final String WEIGHT = "\\.weight";

    private static final Pattern WEIGHT_NAME = Pattern.compile("(?:.*\\.)?layers\\.(\\d+)\\.(?:.*\\.)?([A-Za-z0-9_]+)\\.weight$");

    private ModuleTensors() {}

    /** One module's tensors: its ΔW target and the name prefix up to and including the module. */
    public record Located(Target.Delta target, String prefix) {
        public int layer() { return target.layer(); }

        public String module() { return target.module(); }
    }

    /**
     * The modules of the given names present in {@code src} with a tensor {@code prefix + suffix},
     * by target name; two prefixes mapping to one target are refused as ambiguous.
     */
    public static Map<String, Located> locate(TensorSource src, List<String> modules, String suffixRegex) {
        String alt = String.join("|", modules.stream().map(Pattern::quote).toList());
        Pattern p = Pattern.compile("^((?:.*\\.)?layers\\.(\\d+)\\.(?:.*\\.)?(" + alt + "))" + suffixRegex + "$");
        Map<String, Located> found = new TreeMap<>();
        for (String name : src.names()) {
            Matcher m = p.matcher(name);
            if (!m.matches()) continue;
            Target.Delta target = Target.delta(Integer.parseInt(m.group(2)), m.group(3));
            Located prev = found.put(target.key(), new Located(target, m.group(1)));
            if (prev != null && !prev.prefix().equals(m.group(1))) {
                throw new CheckpointException(src.location(), name, "ambiguous module",
                        "both " + prev.prefix() + " and " + m.group(1) + " map to " + target.key());
            }
        }
        return found;
    }

    /** A full model's linear weights of the given modules, sorted by name. */
    public static List<String> weights(TensorSource src, List<String> modules) {
        String alt = String.join("|", modules.stream().map(Pattern::quote).toList());
        Pattern p = Pattern.compile("^(?:.*\\.)?layers\\.(\\d+)\\.(?:.*\\.)?(" + alt + ")" + WEIGHT + "$");
        return src.names().stream().filter(n -> p.matcher(n).matches()).sorted().toList();
    }

    /** The ΔW target of a full model's linear weight, from its name. */
    public static Target.Delta targetOfWeight(String tensorName) {
        Matcher m = WEIGHT_NAME.matcher(tensorName);
        if (!m.matches()) throw new IllegalArgumentException("'" + tensorName + "' is not a layers.{i}.{module}.weight tensor");
        return Target.delta(Integer.parseInt(m.group(1)), m.group(2));
    }
}
