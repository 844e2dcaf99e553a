package dev.entangle.core.profile;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a profile is of, and the one naming rule for it everywhere (JSON keys, events, results,
 * queries, figures):
 * <ul>
 *   <li>{@code layers.{i}.{module}}: ΔW of a linear module of decoder layer i (e.g. layers.0.q_proj);</li>
 *   <li>{@code layers.{i}.head.{h}}: the attention matrix A_h of head h, {@code .unmasked} when
 *       rebuilt without the causal mask (paper Appendix X A);</li>
 *   <li>{@code layers.{i}.XXt}: the layer's output operator O = X Xᵀ;</li>
 *   <li>{@code layers.{i}.attention}: the profiler's unit of work holding every head of a layer.</li>
 * </ul>
 * Heads and XXᵀ are external: they describe what a layer does from outside, the ΔW internal
 * (the no-hair comparison, paper Sec. II C).
 */
public sealed interface Target permits Target.Delta, Target.Head, Target.Output, Target.Attention {

    /** The decoder layer. */
    int layer();

    /** The target's name, as every module writes it. */
    String key();

    /** Attention heads and output operators: what a layer does from outside. */
    default boolean external() { return false; }

    Pattern MODULE = Pattern.compile("[A-Za-z0-9_]+");

    /**
     * The profiler's forward unit: a checkpoint's whole model run on its base's probe set, whose
     * captures the layers' attention and XXᵀ units read. Not a target of any profile.
     */
    String FORWARD = "forward";

    /** ΔW of one linear module. */
    record Delta(int layer, String module) implements Target {
        public Delta {
            requireLayer(layer);
            if (module == null || !MODULE.matcher(module).matches() || module.equals("head") || module.equals(Output.NAME)
                    || module.equals(Attention.NAME)) {
                throw new IllegalArgumentException("module name '" + module + "' must be letters, digits or '_' (and not head, XXt, attention)");
            }
        }

        @Override
        public String key() { return "layers." + layer + "." + module; }

        @Override
        public String toString() { return key(); }
    }

    /** One attention head; {@code unmasked}: rebuilt without the causal mask. */
    record Head(int layer, int head, boolean unmasked) implements Target {
        public Head {
            requireLayer(layer);
            if (head < 0) throw new IllegalArgumentException("head must be >= 0, got " + head);
        }

        @Override
        public String key() { return "layers." + layer + ".head." + head + (unmasked ? ".unmasked" : ""); }

        @Override
        public boolean external() { return true; }

        @Override
        public String toString() { return key(); }
    }

    /** A layer's output operator O = X Xᵀ (paper Lemma II.2). */
    record Output(int layer) implements Target {
        static final String NAME = "XXt";

        public Output {
            requireLayer(layer);
        }

        @Override
        public String key() { return "layers." + layer + "." + NAME; }

        @Override
        public boolean external() { return true; }

        @Override
        public String toString() { return key(); }
    }

    /** The profiler's unit holding every head of a layer (its results are {@link Head} profiles). */
    record Attention(int layer) implements Target {
        static final String NAME = "attention";

        public Attention {
            requireLayer(layer);
        }

        @Override
        public String key() { return "layers." + layer + "." + NAME; }

        @Override
        public boolean external() { return true; }

        @Override
        public String toString() { return key(); }
    }

    static Delta delta(int layer, String module) { return new Delta(layer, module); }

    static Head head(int layer, int head) { return new Head(layer, head, false); }

    static Output output(int layer) { return new Output(layer); }

    static Attention attention(int layer) { return new Attention(layer); }

    /** Parses a target name; an IllegalArgumentException says which names exist. */
    static Target parse(String key) {
        Matcher m = Names.PATTERN.matcher(key == null ? "" : key);
        if (!m.matches()) {
            throw new IllegalArgumentException("target '" + key
                    + "' is not layers.{i}.{module}, layers.{i}.head.{h}[.unmasked], layers.{i}.XXt or layers.{i}.attention");
        }
        int layer = Integer.parseInt(m.group(1));
        String rest = m.group(2);
        Matcher h = Names.HEAD.matcher(rest);
        if (h.matches()) return new Head(layer, Integer.parseInt(h.group(1)), h.group(2) != null);
        if (rest.equals(Output.NAME)) return new Output(layer);
        if (rest.equals(Attention.NAME)) return new Attention(layer);
        if (!MODULE.matcher(rest).matches() || rest.equals("head")) {
            throw new IllegalArgumentException("target '" + key
                    + "' is not layers.{i}.{module}, layers.{i}.head.{h}[.unmasked], layers.{i}.XXt or layers.{i}.attention");
        }
        return new Delta(layer, rest);
    }

    /** The target a name denotes, or empty when it is not one (for names from elsewhere). */
    static java.util.Optional<Target> tryParse(String key) {
        try {
            return java.util.Optional.of(parse(key));
        } catch (IllegalArgumentException notATarget) {
            return java.util.Optional.empty();
        }
    }

    /** ΔW targets only: a head or XXᵀ name answers with the same IllegalArgumentException as a malformed one. */
    static Delta parseDelta(String key) {
        if (tryParse(key).orElse(null) instanceof Delta d) return d;
        throw new IllegalArgumentException("target '" + key + "' is not layers.{i}.{module}");
    }

    private static void requireLayer(int layer) {
        if (layer < 0) throw new IllegalArgumentException("layer must be >= 0, got " + layer);
    }

    /** The patterns behind {@link #parse}. */
    final class Names {
        static final Pattern PATTERN = Pattern.compile("layers\\.(\\d{1,9})\\.(.+)");
        static final Pattern HEAD = Pattern.compile("head\\.(\\d{1,9})(\\.unmasked)?");

        private Names() {}
    }
}
